/* Run page, System tab: the runner's system metrics (system/... names, see
 * docs/system-metrics.md) as charts, one section per node, one chart per figure with
 * a line per GPU or rank. Read when the tab is first shown, then every 5 s while the
 * run is active. Exposed for tests: window.runyardSystem.charts (title -> Chart). */
"use strict";

(() => {
  const { el, api, num, pathUrl } = RY;
  const holder = document.getElementById("system-charts");
  if (!holder) return;
  const runId = JSON.parse(document.getElementById("run-data").textContent).run.run_id;
  const base = "/api/runs/" + encodeURIComponent(runId);
  const charts = new Map();
  window.runyardSystem = { charts };
  let timer = null;

  /* system/[node<n>/][gpu<i>/|rank<r>/]figure -> {node, line, figure, part}. */
  function parse(key) {
    const parts = key.split("/").slice(1);
    const node = /^node\d+$/.test(parts[0]) ? parts.shift() : "";
    const line = parts.length > 1 && /^(gpu|rank)\d+$/.test(parts[0]) ? parts.shift() : "";
    const part = line.replace(/\d+$/, "");  // "gpu", "rank" or "" (the whole run)
    return { node, line: line || "run", part, figure: parts.join("/") };
  }

  function sectionFor(node) {
    let section = holder.querySelector(`section[data-node="${node}"]`);
    if (!section) {
      section = el("section", { class: "metric-section", "data-node": node });
      section.append(el("h3", { class: "metric-section-title" }, node || "this node"),
        el("div", { class: "charts" }));
      holder.append(section);
    }
    return section.querySelector(".charts");
  }

  async function load() {
    const summaries = (await api(base + "/metrics")).metrics;
    const keys = Object.keys(summaries).filter((k) => k.startsWith("system/")).sort();
    document.getElementById("system-empty").hidden = keys.length > 0;
    const groups = new Map();
    for (const key of keys) {
      const p = parse(key);
      const title = [p.node, p.part && p.part + "s", p.figure].filter(Boolean).join(" · ");
      if (!groups.has(title)) groups.set(title, { node: p.node, lines: [] });
      groups.get(title).lines.push({ key, label: p.line });
    }
    for (const [title, group] of groups) {
      const series = await Promise.all(group.lines.map(async (line) => {
        const s = await api(`${pathUrl(base + "/metrics/", line.key)}?max_points=2000`);
        return { label: line.label, steps: s.steps, times: s.timestamps, values: s.values.map(num) };
      }));
      let chart = charts.get(title);
      if (!chart) {
        const box = el("div", { "data-title": title });
        sectionFor(group.node).append(box);
        chart = new RYCharts.Chart(box, title);
        charts.set(title, chart);
      }
      chart.setSeries(series);
    }
    const run = window.runyard && window.runyard.run();
    if (run && !RY.TERMINAL.has(run.status)) timer = setTimeout(refresh, 5000);
  }

  function refresh() {
    timer = null;
    if (!document.getElementById("tab-system").hidden) load();
    else timer = setTimeout(refresh, 5000);
  }

  function shown() {
    if (location.hash === "#system" && !charts.size && timer === null) load();
  }
  window.addEventListener("hashchange", shown);
  shown();
})();
