/* Metric charts on uPlot: one or several series, x by step or time, log scale and
 * exponential smoothing. Each chart's container carries data-points (points held),
 * which tests and curious users can read. */
"use strict";

const RYCharts = (() => {
  const PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed",
    "#0891b2", "#db2777", "#65a30d", "#ea580c", "#4b5563"];
  const HEIGHT = 220;

  function color(i) {
    return PALETTE[i % PALETTE.length];
  }

  /* TensorBoard's debiased exponential moving average, step for step as its
   * scalars dashboard computes it: a constant series and non-finite values pass
   * through unsmoothed (gaps stay gaps), and weight 1 skips the debiasing. */
  function smooth(ys, weight) {
    const out = new Array(ys.length);
    const first = ys.find((v) => v !== null);
    const constant = ys.every((v) => v === null || v === first);
    let last = 0;
    let n = 0;
    for (let i = 0; i < ys.length; i++) {
      const v = ys[i];
      if (v === null || !Number.isFinite(v)) {
        out[i] = null;
        continue;
      }
      if (constant) {
        out[i] = v;
        continue;
      }
      last = last * weight + (1 - weight) * v;
      n++;
      out[i] = weight === 1 ? last : last / (1 - Math.pow(weight, n));
    }
    return out;
  }

  /* Trailing running average over the last `window` finite points (W&B's "running
   * average"); gaps stay gaps and do not count. */
  function runningAverage(ys, window) {
    const out = new Array(ys.length);
    const held = [];
    let sum = 0;
    for (let i = 0; i < ys.length; i++) {
      const v = ys[i];
      if (v === null || !Number.isFinite(v)) {
        out[i] = null;
        continue;
      }
      held.push(v);
      sum += v;
      if (held.length > window) sum -= held.shift();
      out[i] = sum / held.length;
    }
    return out;
  }

  /* The slider's weight (0 .. 0.99) as a running average's window: 1 .. 100 points. */
  function windowOf(weight) {
    return 1 + Math.round(weight * 100);
  }

  function smoothed(ys, options) {
    if (options.smoothingKind === "avg") return runningAverage(ys, windowOf(options.smoothing));
    return smooth(ys, options.smoothing);
  }

  /* Numbers for uPlot: NaN and ±inf become gaps, and so do values a log axis cannot show. */
  function plottable(values, log) {
    const out = new Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const v = RY.num(values[i]);
      const ok = typeof v === "number" && Number.isFinite(v) && (!log || v > 0);
      out[i] = ok ? v : (typeof v === "boolean" ? (v ? 1 : 0) : null);
    }
    return out;
  }

  /* uPlot wants x ascending; steps usually are, but need not be. */
  function sortedPair(xs, ys) {
    let sorted = true;
    for (let i = 1; i < xs.length; i++) {
      if (xs[i] < xs[i - 1]) {
        sorted = false;
        break;
      }
    }
    if (sorted) return [xs, ys];
    const idx = xs.map((_, i) => i).sort((a, b) => xs[a] - xs[b] || a - b);
    return [idx.map((i) => xs[i]), idx.map((i) => ys[i])];
  }

  class Chart {
    /* container: an element to fill; title: text shown above the plot. */
    constructor(container, title, options) {
      this.container = container;
      // options.refine (optional): async (lo, hi) => the series in that step range; kept
      // apart from the display options (which the URL and tests read).
      const { refine, ...shown } = options || {};
      this.refine = refine || null;
      this.options = Object.assign({ xMode: "step", log: false, smoothing: 0, smoothingKind: "ema" }, shown);
      this.series = [];
      this.plot = null;
      this.shape = "";
      container.classList.add("chart");
      this.titleEl = RY.el("h4", { class: "chart-title" }, title);
      this.plotEl = RY.el("div", { class: "chart-plot" });
      container.replaceChildren(this.titleEl, this.plotEl);
      this.resizer = new ResizeObserver(() => this.resize());
      this.resizer.observe(container);
    }

    /* series: [{label, steps, times, values, t0?}] (the arrays are kept, not copied). */
    setSeries(series) {
      this.base = series;
      this.container.dataset.points = String(series.reduce((n, s) => n + s.values.length, 0));
      if (this.zoom) return; // a zoomed view stays put; its reset shows these points
      this.series = series;
      this.render();
    }

    /* After a drag-zoom on steps, `refine(lo, hi)` (when given) fetches the range
     * at full resolution and the chart shows it; zooming back out shows the overview. */
    zoomed(u) {
      if (this.quiet || !this.refine || this.options.xMode !== "step") return;
      const { min, max } = u.scales.x;
      const all = (this.base || []).flatMap((s) => [s.steps[0], s.steps[s.steps.length - 1]])
        .filter((v) => v !== undefined);
      if (!all.length || min === null || max === null) return;
      const whole = min <= Math.min(...all) && max >= Math.max(...all);
      clearTimeout(this.zoomTimer);
      this.zoomTimer = setTimeout(async () => {
        if (whole) {
          if (!this.zoom) return;
          this.zoom = null;
          this.series = this.base;
          delete this.container.dataset.zoom;
          this.render();
          return;
        }
        const range = [Math.floor(min), Math.ceil(max)];
        const refined = await this.refine(range[0], range[1]);
        if (!refined) return;
        this.zoom = [min, max];
        this.series = refined;
        this.container.dataset.zoom = range.join(",");
        this.container.dataset.zoomPoints = String(refined.reduce((n, s) => n + s.values.length, 0));
        this.render();
      }, 120);
    }

    setOptions(options) {
      Object.assign(this.options, options);
      this.render();
    }

    xs(s) {
      if (this.options.xMode === "step") return s.steps;
      if (this.options.xMode === "reltime") {
        const t0 = s.t0 !== undefined ? s.t0 : (s.times.length ? s.times[0] : 0);
        return s.times.map((t) => t - t0);
      }
      return s.times;
    }

    data() {
      const { log, smoothing } = this.options;
      const tables = this.series.map((s) => sortedPair(this.xs(s), plottable(s.values, log)));
      const single = tables.length === 1;
      const withRaw = single || smoothing === 0;
      const columns = [];
      tables.forEach(([xs, ys], i) => {
        const cols = [];
        if (withRaw) cols.push(ys);
        if (smoothing > 0) cols.push(smoothed(ys, this.options));
        const s = this.series[i];
        // A group's band (its runs' min and max at each x; grouped series come sorted).
        if (s.lo && s.hi) cols.push(plottable(s.lo, log), plottable(s.hi, log));
        columns.push([xs, ...cols]);
      });
      if (single) return columns[0];
      if (!columns.length) return [[]];
      return uPlot.join(columns);
    }

    config() {
      const { log, smoothing, xMode } = this.options;
      const single = this.series.length === 1;
      const uSeries = [{ label: xMode === "step" ? "step" : "time" }];
      const bands = [];
      this.series.forEach((s, i) => {
        const c = single ? color(0) : color(i);
        // A series with one point in view is no line at all: draw it as a marker.
        const lone = (u, si, i0, i1) => { let n = 0; for (let j = i0; j <= i1 && n < 2; j++) if (u.data[si][j] != null) n++; return n === 1; };
        const raw = { label: s.label, stroke: c, width: 1.25, spanGaps: !single, points: { show: lone, size: 8, fill: c } };
        if (single && smoothing > 0) {
          uSeries.push({ ...raw, stroke: c + "55" });
          uSeries.push({ label: "smoothed", stroke: c, width: 1.75, spanGaps: true, points: { show: false } });
        } else if (smoothing > 0) {
          uSeries.push({ ...raw, width: 1.75, spanGaps: true });
        } else {
          uSeries.push(raw);
        }
        if (s.lo && s.hi) {
          const edge = { stroke: c + "44", width: 0.75, spanGaps: true, points: { show: false } };
          uSeries.push({ ...edge, label: s.label + " min" }, { ...edge, label: s.label + " max" });
          bands.push({ series: [uSeries.length - 1, uSeries.length - 2], fill: c + "22" });
        }
      });
      // Axis and grid colours from the stylesheet, so dark mode reaches the canvas.
      const css = getComputedStyle(document.documentElement);
      const axis = css.getPropertyValue("--chart-axis").trim() || "#555";
      const grid = css.getPropertyValue("--chart-grid").trim() || "#eee";
      return {
        width: Math.max(200, this.container.clientWidth - 2),
        height: HEIGHT,
        series: uSeries,
        scales: {
          x: { time: xMode === "time" },
          y: log ? { distr: 3, log: 10 } : {},
        },
        axes: [
          { stroke: axis, grid: { stroke: grid } },
          { stroke: axis, grid: { stroke: grid }, size: 60 },
        ],
        bands,
        legend: { live: true },
        cursor: { drag: { x: true, y: false } },
        hooks: { setScale: [(u, key) => { if (key === "x") this.zoomed(u); }] },
      };
    }

    render() {
      if (!this.container.isConnected || this.container.offsetParent === null) {
        this.stale = true; // hidden tab: draw when shown
        return;
      }
      this.stale = false;
      const o = this.options;
      const shape = [o.xMode, o.log, o.smoothing > 0, this.series.map((s) => s.label + (s.lo ? "~" : "")).join("\u0000")].join("|");
      if (shape !== this.shape && this.zoom) {
        // A new kind of chart (smoothing, axis) starts from the overview again.
        this.zoom = null;
        this.series = this.base || this.series;
        delete this.container.dataset.zoom;
      }
      const data = this.data();
      if (this.plot && shape === this.shape) {
        this.quiet = true;
        // A zoomed chart keeps its range while its points are swapped in.
        this.plot.setData(data, !this.zoom);
        if (this.zoom) this.plot.setScale("x", { min: this.zoom[0], max: this.zoom[1] });
        this.quiet = false;
        return;
      }
      this.zoom = null;
      if (this.plot) this.plot.destroy();
      this.shape = shape;
      this.plot = new uPlot(this.config(), data, this.plotEl);
    }

    resize() {
      if (this.stale) {
        this.render();
        return;
      }
      if (!this.plot) return;
      const width = Math.max(200, this.container.clientWidth - 2);
      if (Math.abs(width - this.plot.width) > 1) this.plot.setSize({ width, height: HEIGHT });
    }

    destroy() {
      this.resizer.disconnect();
      if (this.plot) this.plot.destroy();
      this.plot = null;
    }
  }

  /* A metric's section: its name's prefix before the first "/" (train/, val/, system/),
   * or "" for a name without one. */
  function sectionOf(key) {
    const i = key.indexOf("/");
    return i > 0 ? key.slice(0, i) : "";
  }

  /* Puts a chart box into its section of `container` (made on first use), sections and
   * charts each in name order, so a page reads the same every time. */
  function placeInSection(container, box, key) {
    const name = sectionOf(key);
    const sections = Array.from(container.children).filter((s) => s.dataset.section !== undefined);
    let section = sections.find((s) => s.dataset.section === name);
    if (!section) {
      section = RY.el("section", { class: "metric-section", "data-section": name });
      section.append(
        RY.el("h3", { class: "metric-section-title" }, name ? name + "/" : "other metrics"),
        RY.el("div", { class: "charts" }));
      const after = sections.find((s) => s.dataset.section > name);
      container.insertBefore(section, after || null);
    }
    const grid = section.querySelector(".charts");
    const after = Array.from(grid.children).find((c) => c.dataset.key > key);
    grid.insertBefore(box, after || null);
  }

  /* Wires the x-axis / log / smoothing controls to a set of charts. */
  function bindControls(getCharts) {
    const xMode = document.getElementById("x-mode");
    const log = document.getElementById("log-scale");
    const smoothing = document.getElementById("smoothing");
    const shown = document.getElementById("smoothing-value");
    const kind = document.getElementById("smoothing-kind");
    const current = () => ({
      xMode: xMode.value,
      log: log.checked,
      smoothing: Number(smoothing.value),
      smoothingKind: kind ? kind.value : "ema",
    });
    // The chart state lives in the URL's query (x, log, smooth, kind), so a link shows
    // the same view; other parameters (compare's runs=) and the tab's #hash are kept.
    const params = new URLSearchParams(window.location.search);
    const pick = (select, value) => {
      if (value !== null && Array.from(select.options).some((o) => o.value === value)) {
        select.value = value;
      }
    };
    pick(xMode, params.get("x"));
    if (kind) pick(kind, params.get("kind"));
    log.checked = params.get("log") === "1";
    const weight = Number(params.get("smooth"));
    if (params.has("smooth") && weight >= 0 && weight <= 0.99) smoothing.value = String(weight);
    shown.textContent = smoothing.value;
    const remember = () => {
      const q = new URLSearchParams(window.location.search);
      const o = current();
      const set = (name, value, unset) => (value === unset ? q.delete(name) : q.set(name, value));
      set("x", o.xMode, "step");
      set("log", o.log ? "1" : "0", "0");
      set("smooth", smoothing.value, "0");
      set("kind", o.smoothingKind, "ema");
      const query = q.toString();
      const url = window.location.pathname + (query ? "?" + query : "") + window.location.hash;
      window.history.replaceState(window.history.state, "", url);
    };
    const apply = () => {
      shown.textContent = smoothing.value;
      for (const c of getCharts()) c.setOptions(current());
      remember();
    };
    xMode.addEventListener("change", apply);
    log.addEventListener("change", apply);
    smoothing.addEventListener("input", apply);
    if (kind) kind.addEventListener("change", apply);
    return current;
  }

  return { Chart, bindControls, color, smooth, runningAverage, windowOf, placeInSection, sectionOf };
})();
