/* Run page: tabs, live metric charts, records, files, the driver log, snapshot,
 * environment and child runs. Live updates come from /api/runs/ID/stream (SSE). */
"use strict";

(() => {
  const { el, api, num, fmtValue, fmtTime, fmtDuration, fmtBytes, pathUrl } = RY;
  const initial = JSON.parse(document.getElementById("run-data").textContent);
  let run = initial.run;
  const runId = run.run_id;
  const base = "/api/runs/" + encodeURIComponent(runId);
  const MAX_POINTS = 2000;
  const LOG_TAIL = 256 * 1024;
  const MAX_LOG_CHARS = 2 * 1024 * 1024;

  /* Metric state by key: the points held, how many of the server's they stand for,
   * and the chart. Exposed for tests: window.runyard.metrics.get("loss").count */
  const metrics = new Map();
  const textMetrics = new Map();
  const runyard = (window.runyard = { metrics, run: () => run, logOffset: 0, streaming: false });

  // ---- tabs -------------------------------------------------------------------------
  const loaded = new Set();
  const loaders = {
    outputs: () => loadFiles(),
    snapshot: () => loadSnapshot(),
    environment: () => loadEnvironment(),
    children: () => loadChildren(),
  };

  function showTab(name) {
    if (!document.getElementById("tab-" + name)) name = "overview";
    for (const section of document.querySelectorAll("section.tab")) {
      section.hidden = section.id !== "tab-" + name;
    }
    for (const link of document.querySelectorAll(".tabs a")) {
      link.classList.toggle("active", link.dataset.tab === name);
      link.setAttribute("aria-selected", String(link.dataset.tab === name));
    }
    if (loaders[name] && !loaded.has(name)) {
      loaded.add(name);
      loaders[name]();
    }
    if (name === "metrics") for (const m of metrics.values()) if (m.chart) m.chart.render();
  }
  window.addEventListener("hashchange", () => showTab(location.hash.slice(1)));

  // ---- status -----------------------------------------------------------------------
  function updateRun(next) {
    const was = run.status;
    run = next;
    for (const node of document.querySelectorAll("#run-status, .run-status-cell")) {
      node.replaceChildren(RY.statusBadge(run.status));
    }
    const ended = document.querySelector(".run-ended");
    if (ended) ended.textContent = fmtTime(run.ended_at);
    const duration = document.querySelector(".run-duration");
    if (duration) duration.textContent = fmtDuration(run.duration);
    if (RY.TERMINAL.has(run.status) && !RY.TERMINAL.has(was)) {
      loadRecords();
      if (loaded.has("outputs")) loadFiles();
    }
  }

  // ---- metrics ----------------------------------------------------------------------
  const chartsEl = document.getElementById("charts");
  const currentOptions = RYCharts.bindControls(() =>
    Array.from(metrics.values()).map((m) => m.chart).filter(Boolean));

  function metricState(key, valueType) {
    let m = metrics.get(key);
    if (m) return m;
    m = { key, valueType, steps: [], times: [], values: [], count: 0, chart: null };
    metrics.set(key, m);
    if (valueType === "str") return m;
    const box = el("div", { "data-key": key, "data-points": "0" });
    RYCharts.placeInSection(chartsEl, box, key);
    // A drag-zoom on steps re-reads that range at full resolution.
    const refine = async (lo, hi) => {
      const s = await api(`${pathUrl(base + "/metrics/", key)}?max_points=${MAX_POINTS}&step_min=${lo}&step_max=${hi}`);
      return [{ label: key, steps: s.steps, times: s.timestamps, values: s.values.map(num) }];
    };
    m.chart = new RYCharts.Chart(box, key, { ...currentOptions(), refine });
    return m;
  }

  function redraw(m) {
    if (m.valueType === "str") {
      showTextMetric(m.key, m.values[m.values.length - 1]);
      return;
    }
    const [rank, name] = RYRanks.parse(m.key);
    if (rankView() !== "rank0" && drawRanks(name)) {
      const section = m.chart.container.closest("section.metric-section");
      if (rank > 0 && section) section.hidden = true; // shown in rank 0's chart
      return;
    }
    m.chart.setSeries([{ label: m.key, steps: m.steps, times: m.times, values: m.values }]);
  }

  // ---- ranks (a distributed run: rank<r>/<name> beside rank 0's <name>) -------------
  const rankSelect = document.getElementById("rank-view");
  const rankView = () => (rankSelect ? rankSelect.value : "rank0");

  /* Draws every rank of `name` in rank 0's chart (overlay or band); false when the name
   * has no other rank, or rank 0 has no chart of it. */
  function drawRanks(name) {
    const target = metrics.get(name);
    const members = RYRanks.members(metrics.keys(), name).map(([r, k]) => [r, metrics.get(k)]);
    if (!target || !target.chart || members.length < 2) return false;
    const series = members.map(([rank, m]) => ({ label: "rank " + rank, steps: m.steps, times: m.times, values: m.values }));
    if (rankView() === "band") {
      target.chart.setSeries([{ label: `mean of ${members.length} ranks`, ...RYRanks.band(series) }]);
    } else {
      target.chart.setSeries(series);
    }
    target.chart.container.dataset.ranks = String(members.length);
    return true;
  }

  function showRankView() {
    const view = rankView();
    for (const section of chartsEl.querySelectorAll("section.metric-section")) {
      section.hidden = view !== "rank0" && /^rank\d+$/.test(section.dataset.section);
    }
    for (const m of metrics.values()) {
      if (m.valueType === "str") continue;
      if (view === "rank0") delete m.chart.container.dataset.ranks;
      redraw(m);
    }
    const q = new URLSearchParams(window.location.search);
    if (view === "rank0") q.delete("ranks"); else q.set("ranks", view);
    const query = q.toString();
    window.history.replaceState(window.history.state, "", window.location.pathname + (query ? "?" + query : "") + window.location.hash);
  }

  function offerRanks() {
    const control = document.getElementById("rank-control");
    if (!control || !control.hidden) return;
    if (!Array.from(metrics.keys()).some((k) => RYRanks.parse(k)[0] > 0)) return;
    control.hidden = false;
    const wanted = new URLSearchParams(window.location.search).get("ranks");
    if (wanted && Array.from(rankSelect.options).some((o) => o.value === wanted)) {
      rankSelect.value = wanted;
      showRankView();
    }
  }
  if (rankSelect) rankSelect.addEventListener("change", showRankView);

  function replacePoints(m, series) {
    m.steps = series.steps;
    m.times = series.timestamps;
    m.values = series.values.map(num);
    m.count = series.total_count; // every series swapped in starts at index 0
    redraw(m);
  }

  /* New points from the stream; overlap with what we hold (after a re-fetch) is skipped. */
  function appendPoints(m, ev) {
    const skip = Math.max(0, m.count - ev.start);
    if (skip >= ev.steps.length) return;
    for (let i = skip; i < ev.steps.length; i++) {
      m.steps.push(ev.steps[i]);
      m.times.push(ev.timestamps[i]);
      m.values.push(num(ev.values[i]));
    }
    m.count = ev.start + ev.steps.length;
    if (m.values.length > 4 * MAX_POINTS && !m.refetching) refetch(m);
    redraw(m);
  }

  async function fetchSeries(key) {
    return api(`${pathUrl(base + "/metrics/", key)}?max_points=${MAX_POINTS}`);
  }

  /* A long-running chart grows past what it needs; swap in a down-sampled copy. */
  async function refetch(m) {
    m.refetching = true;
    try {
      const series = await fetchSeries(m.key);
      if (series.total_count >= m.count) replacePoints(m, series);
    } finally {
      m.refetching = false;
    }
  }

  function showTextMetric(key, value) {
    let row = textMetrics.get(key);
    const holder = document.getElementById("text-metrics");
    if (!row) {
      let table = holder.querySelector("table");
      if (!table) {
        table = el("table", { class: "grid" }, el("thead", {}, el("tr", {}, el("th", {}, "Text metric"), el("th", {}, "Last value"))), el("tbody"));
        holder.replaceChildren(el("h3", {}, "Text metrics"), table);
      }
      row = el("tr", {}, el("td", {}, key), el("td"));
      table.tBodies[0].append(row);
      textMetrics.set(key, row);
    }
    row.cells[1].textContent = fmtValue(value);
  }

  async function loadMetrics() {
    const summaries = initial.metrics;
    const keys = Object.keys(summaries).sort();
    if (!keys.length) RY.message(chartsEl, "No metrics logged yet.");
    await Promise.all(keys.map(async (key) => {
      const s = summaries[key];
      const series = await fetchSeries(key);
      replacePoints(metricState(key, s.value_type), series);
    }));
    offerRanks();
  }

  async function loadRecords() {
    const holder = document.getElementById("records");
    try {
      const records = (await api(base + "/records")).records;
      runyard.records = records.length;
      RYPanels.records(holder, records, base);
    } catch (err) {
      RY.message(holder, "Could not load records: " + err.message, "error");
    }
  }

  // ---- driver log -------------------------------------------------------------------
  const logEl = document.getElementById("driver-log");
  let logChars = 0;

  function appendLog(data) {
    if (!data) return;
    logEl.append(document.createTextNode(data));
    logChars += data.length;
    if (logChars > MAX_LOG_CHARS) {
      // Keep the page light: the full log is a download away.
      const keep = logEl.textContent.slice(-MAX_LOG_CHARS / 2);
      logEl.textContent = keep;
      logChars = keep.length;
    }
    if (document.getElementById("log-follow").checked) logEl.scrollTop = logEl.scrollHeight;
  }

  async function loadLog() {
    const chunk = await api(`${base}/logs?offset=${-LOG_TAIL}&length=${LOG_TAIL}`);
    if (chunk.offset > 0) {
      const note = document.getElementById("log-note");
      note.hidden = false;
      note.textContent = `The first ${fmtBytes(chunk.offset)} are not shown; download the log for all of it.`;
    }
    appendLog(chunk.data);
    runyard.logOffset = chunk.next_offset;
    if (!chunk.data && !chunk.size) logEl.dataset.empty = "1";
  }

  // ---- live stream ------------------------------------------------------------------
  let source = null;

  function connect() {
    if (RY.TERMINAL.has(run.status)) return;
    const since = {};
    for (const m of metrics.values()) since[m.key] = m.count;
    const url = `${base}/stream?since=${encodeURIComponent(JSON.stringify(since))}` +
      `&log_offset=${runyard.logOffset}&status=${encodeURIComponent(run.status)}` +
      `&records=${runyard.records === undefined ? -1 : runyard.records}`;
    source = new EventSource(url);
    runyard.streaming = true;
    document.getElementById("live-state").textContent = "● live";
    source.addEventListener("status", (ev) => updateRun(JSON.parse(ev.data)));
    source.addEventListener("metrics", (ev) => {
      const data = JSON.parse(ev.data);
      const m = metricState(data.key, data.value_type);
      if (RYRanks.parse(data.key)[0] > 0) offerRanks();
      if (chartsEl.querySelector(":scope > p")) chartsEl.querySelector(":scope > p").remove();
      if (data.reset) replacePoints(m, data);
      else appendPoints(m, data);
    });
    // Records (lists, rows, tables, images) are read again when the stream says their
    // count moved: no timer.
    source.addEventListener("records", (ev) => {
      if (JSON.parse(ev.data).count !== runyard.records) loadRecords();
    });
    source.addEventListener("log", (ev) => {
      const data = JSON.parse(ev.data);
      if (data.offset < runyard.logOffset) return;
      appendLog(data.data);
      runyard.logOffset = data.next_offset;
    });
    source.addEventListener("end", () => {
      source.close();
      runyard.streaming = false;
      document.getElementById("live-state").textContent = "";
    });
    source.onerror = () => {
      // The browser would reconnect with the old counts; reconnect ourselves instead.
      source.close();
      runyard.streaming = false;
      document.getElementById("live-state").textContent = "reconnecting…";
      setTimeout(connect, 2000);
    };
  }

  // ---- files, snapshot, environment, children --------------------------------------
  const loadFiles = () => RYPanels.files(document.getElementById("files"), base);
  const loadSnapshot = () => RYPanels.snapshot(document.getElementById("snapshot"), run);
  const loadEnvironment = () => RYPanels.environment(document.getElementById("environment"), run, base);
  const loadChildren = () => RYPanels.children(document.getElementById("children"), base);

  // ---- start ------------------------------------------------------------------------
  showTab(location.hash.slice(1) || "overview");
  Promise.all([loadMetrics(), loadLog(), loadRecords()])
    .catch((err) => RY.message(chartsEl, "Could not load metrics: " + err.message, "error"))
    .finally(() => {
      runyard.ready = true;
      document.body.dataset.ready = "1";
      connect();
    });
})();
