/* Compare page: each metric of the chosen runs overlaid on one chart; or grouped by a
 * parameter or tag, one line per group (its runs' mean) with a min-max band. A drag-zoom
 * on steps re-reads the range at full resolution. */
"use strict";

(() => {
  const { el, api, num } = RY;
  const data = JSON.parse(document.getElementById("compare-data").textContent);
  const chartsEl = document.getElementById("charts");
  const charts = [];
  const byKey = new Map(); // metric key -> {chart, series: per run}
  // Up to 2,000 points a series, and 20,000 a chart: fifty runs get 400 each (still each
  // bucket's min and max, so peaks stay); a zoom re-reads the range in full detail.
  const MAX_POINTS = Math.max(250, Math.min(2000, Math.floor(20000 / Math.max(1, data.runs.length))));
  window.runyard = { charts, ready: false };

  for (const swatch of document.querySelectorAll(".swatch")) {
    swatch.style.background = RYCharts.color(Number(swatch.dataset.index));
  }

  // Group-by choices: every tag and parameter some run has; kept in the URL (group=).
  const groupBy = document.getElementById("group-by");
  const choices = new Set();
  for (const run of data.runs) {
    for (const k of Object.keys(run.params || {})) choices.add("params." + k);
    for (const k of Object.keys(run.tags || {})) choices.add("tags." + k);
  }
  for (const c of Array.from(choices).sort()) groupBy.append(el("option", { value: c }, c));
  const wanted = new URLSearchParams(window.location.search).get("group");
  if (wanted && choices.has(wanted)) groupBy.value = wanted;

  const current = RYCharts.bindControls(() => charts);
  const valueOf = (run, field) => {
    const [prefix, ...rest] = field.split(".");
    const name = rest.join(".");
    const held = prefix === "params" ? run.params : run.tags;
    return held && name in held ? String(held[name]) : "(none)";
  };

  /* One series per group: at each step any of its runs has, the mean, min and max over
   * the runs that reached it (each run holds its last value between its points). */
  function grouped(perRun, field) {
    const groups = new Map();
    data.runs.forEach((run, i) => {
      if (!perRun[i] || !perRun[i].steps.length) return;
      const g = valueOf(run, field);
      if (!groups.has(g)) groups.set(g, []);
      groups.get(g).push(perRun[i]);
    });
    const out = [];
    for (const g of Array.from(groups.keys()).sort()) {
      const members = groups.get(g);
      const steps = Array.from(new Set(members.flatMap((s) => s.steps))).sort((a, b) => a - b);
      const cursors = members.map(() => 0);
      const mean = [], lo = [], hi = [], times = [];
      for (const step of steps) {
        let sum = 0, n = 0, min = Infinity, max = -Infinity, t = null;
        members.forEach((s, m) => {
          while (cursors[m] + 1 < s.steps.length && s.steps[cursors[m] + 1] <= step) cursors[m]++;
          if (s.steps[cursors[m]] > step) return; // this run has not reached the step
          const v = s.values[cursors[m]];
          if (typeof v !== "number" || !Number.isFinite(v)) return;
          sum += v; n++;
          min = Math.min(min, v); max = Math.max(max, v);
          if (t === null) t = s.times[cursors[m]] - s.t0;
        });
        mean.push(n ? sum / n : null);
        lo.push(n ? min : null);
        hi.push(n ? max : null);
        times.push(t === null ? 0 : t);
      }
      out.push({ label: `${field}=${g} (${members.length} runs)`, steps, times, values: mean, lo, hi, t0: 0 });
    }
    return out;
  }

  const options = () => {
    const o = current();
    // Absolute time cannot overlay runs that ran at different times.
    return { ...o, xMode: o.xMode === "time" ? "reltime" : o.xMode };
  };

  function show(entry) {
    const field = groupBy.value;
    const present = data.runs.map((run, i) => entry.series[i] || { label: run.label, steps: [], times: [], values: [] });
    entry.chart.setOptions(options());
    entry.chart.setSeries(field ? grouped(present, field) : present);
    entry.box.dataset.groups = field ? String(entry.chart.base.length) : "";
  }

  for (const id of ["x-mode", "log-scale", "smoothing", "smoothing-kind"]) {
    document.getElementById(id).addEventListener(id === "smoothing" ? "input" : "change", () => {
      for (const c of charts) c.setOptions(options());
    });
  }
  groupBy.addEventListener("change", () => {
    const q = new URLSearchParams(window.location.search);
    if (groupBy.value) q.set("group", groupBy.value);
    else q.delete("group");
    window.history.replaceState(window.history.state, "", `${window.location.pathname}?${q}${window.location.hash}`);
    for (const entry of byKey.values()) show(entry);
  });

  // One request a metric for up to 50 runs (/api/series), not one a run: a browser
  // keeps ~6 requests in flight per host, so fifty waited on each other.
  const BATCH_RUNS = 50;
  async function readSeries(key, range) {
    const perRun = [];
    for (let i = 0; i < data.runs.length; i += BATCH_RUNS) {
      const runs = data.runs.slice(i, i + BATCH_RUNS);
      const q = new URLSearchParams({ key, runs: runs.map((r) => r.run_id).join(","), max_points: String(MAX_POINTS) });
      if (range) {
        q.set("step_min", String(range[0]));
        q.set("step_max", String(range[1]));
      }
      const answer = await api(`/api/series?${q}`);
      answer.series.forEach((s, j) => {
        const run = runs[j];
        perRun.push(s && s.steps.length ? { label: run.label, steps: s.steps, times: s.timestamps, values: s.values.map(num), t0: run.t0 } : null);
      });
    }
    return perRun;
  }

  async function chartFor(key) {
    const box = el("div", { "data-key": key, "data-points": "0" });
    RYCharts.placeInSection(chartsEl, box, key);
    const entry = { box, series: [], chart: null };
    // Zoomed in: the runs' points in that step range, at full resolution.
    const refine = async (lo, hi) => {
      const perRun = await readSeries(key, [lo, hi]);
      const present = data.runs.map((run, i) => perRun[i] || { label: run.label, steps: [], times: [], values: [] });
      return groupBy.value ? grouped(present, groupBy.value) : present;
    };
    entry.chart = new RYCharts.Chart(box, key, { ...options(), refine });
    RY.message(entry.chart.plotEl, "Loading…", "chart-state");
    charts.push(entry.chart);
    byKey.set(key, entry);
    const perRun = await readSeries(key, null);
    // Relative time counts from each run's first point, also in a zoomed range.
    perRun.forEach((s, i) => {
      if (s) data.runs[i].t0 = s.t0 = s.times[0];
    });
    entry.series = perRun;
    entry.chart.plotEl.replaceChildren();
    show(entry);
  }

  // ?metrics=a,b: only those charts (a link to one overlay of many runs).
  const only = new URLSearchParams(window.location.search).get("metrics");
  if (only) {
    const keep = new Set(only.split(",").map((k) => k.trim()));
    data.metrics = data.metrics.filter((k) => keep.has(k));
  }
  if (!data.metrics.length) RY.message(chartsEl, "These runs have no numeric metrics.");
  Promise.all(data.metrics.map(chartFor))
    .catch((err) => chartsEl.append(el("p", { class: "error" }, "Could not load metrics: " + err.message)))
    .finally(() => {
      window.runyard.ready = true;
      document.body.dataset.ready = "1";
    });
})();
