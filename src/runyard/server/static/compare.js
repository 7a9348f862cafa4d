/* Compare page: each metric of the chosen runs overlaid on one chart. */
"use strict";

(() => {
  const { el, api, num, pathUrl } = RY;
  const data = JSON.parse(document.getElementById("compare-data").textContent);
  const chartsEl = document.getElementById("charts");
  const charts = [];
  const MAX_POINTS = 2000;
  window.runyard = { charts, ready: false };

  for (const swatch of document.querySelectorAll(".swatch")) {
    swatch.style.background = RYCharts.color(Number(swatch.dataset.index));
  }
  const options = () => {
    const o = current();
    // Absolute time cannot overlay runs that ran at different times.
    return { ...o, xMode: o.xMode === "time" ? "reltime" : o.xMode };
  };
  const current = RYCharts.bindControls(() => []);
  for (const id of ["x-mode", "log-scale", "smoothing"]) {
    document.getElementById(id).addEventListener(id === "smoothing" ? "input" : "change", () => {
      for (const c of charts) c.setOptions(options());
    });
  }

  async function chartFor(key) {
    const box = el("div", { "data-key": key, "data-points": "0" });
    chartsEl.append(box);
    const chart = new RYCharts.Chart(box, key, options());
    charts.push(chart);
    const series = [];
    await Promise.all(data.runs.map(async (run, i) => {
      try {
        const s = await api(`${pathUrl(`/api/runs/${encodeURIComponent(run.run_id)}/metrics/`, key)}?max_points=${MAX_POINTS}`);
        if (!s.steps.length) return;
        series[i] = { label: run.label, steps: s.steps, times: s.timestamps, values: s.values.map(num), t0: s.timestamps[0] };
      } catch (err) {
        if (err.status !== 404) throw err;
      }
    }));
    // Keep each run's colour fixed by its position, even where a run lacks this metric.
    const present = [];
    data.runs.forEach((run, i) => {
      present.push(series[i] || { label: run.label, steps: [], times: [], values: [] });
    });
    chart.setSeries(present);
  }

  if (!data.metrics.length) RY.message(chartsEl, "These runs have no numeric metrics.");
  Promise.all(data.metrics.map(chartFor))
    .catch((err) => chartsEl.append(el("p", { class: "error" }, "Could not load metrics: " + err.message)))
    .finally(() => {
      window.runyard.ready = true;
      document.body.dataset.ready = "1";
    });
})();
