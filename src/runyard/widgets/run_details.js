// The RunDetails widget's view (anywidget ESM). Every string from the run goes in through
// textContent or an SVG attribute, never innerHTML, so a run name cannot inject markup.
const SVG = "http://www.w3.org/2000/svg";
const W = 320, H = 120, PAD = 6;

function node(tag, cls, text) {
  const n = document.createElement(tag);
  if (cls) n.className = cls;
  if (text !== undefined) n.textContent = text;
  return n;
}

function chartPath(steps, values) {
  const pts = [];
  for (let i = 0; i < values.length; i++) if (values[i] !== null) pts.push([steps[i], values[i]]);
  if (!pts.length) return "";
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const [x, y] of pts) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
  const xs = (x1 - x0) || 1, ys = (y1 - y0) || 1;
  let d = "", down = false;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null) { down = false; continue; }
    const x = PAD + (steps[i] - x0) / xs * (W - 2 * PAD);
    const y = H - PAD - (v - y0) / ys * (H - 2 * PAD);
    d += (down ? "L" : "M") + x.toFixed(1) + "," + y.toFixed(1) + " ";
    down = true;
  }
  return d;
}

function chart(m) {
  const box = node("div", "ry-chart");
  box.dataset.metric = m.key;
  const title = node("div", "ry-chart-title");
  title.append(node("b", "", m.key), " ", node("span", "ry-last", `last ${m.last} · ${m.count} points`));
  box.append(title);
  const d = chartPath(m.steps || [], m.values || []);
  if (d) {
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("width", W); svg.setAttribute("height", H);
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    svg.setAttribute("role", "img"); svg.setAttribute("aria-label", m.key);
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", d); path.setAttribute("fill", "none"); path.setAttribute("stroke-width", "1.5");
    svg.append(path);
    box.append(svg);
  }
  return box;
}

// A sweep's trials table and its two charts. The SVGs come from the kernel's plots
// module, which escapes every run string; DOMParser runs no script in them.
function svgNode(markup) {
  const doc = new DOMParser().parseFromString(markup, "image/svg+xml");
  const svg = doc.documentElement;
  return svg && svg.nodeName === "svg" ? document.importNode(svg, true) : node("div", "ry-empty", "(chart unavailable)");
}

function sweepView(sweep) {
  const box = node("div", "ry-sweep");
  const ended = sweep.ended_because ? ` · ended because: ${sweep.ended_because}` : "";
  box.append(node("div", "ry-sweep-head", `${sweep.total}/${sweep.planned} trials · ${sweep.goal} ${sweep.metric}${ended}`));
  const charts = node("div", "ry-sweep-charts");
  charts.append(svgNode(sweep.curves_svg), svgNode(sweep.parallel_svg));
  box.append(charts);
  const table = node("table", "ry-trials");
  const head = node("tr");
  for (const h of ["trial", "outcome", sweep.metric, ...sweep.parameters, "why it ended"]) head.append(node("th", "", h));
  table.append(node("thead"));
  table.firstChild.append(head);
  const body = node("tbody");
  for (const r of sweep.rows) {
    const tr = node("tr");
    tr.dataset.run = r.run_id;
    tr.dataset.outcome = r.outcome;
    const metric = r.outcome === "no metric" ? "never logged" : (r.metric === null ? "" : String(+r.metric.toPrecision(6)));
    const cells = [String(r.trial), r.outcome, metric];
    for (const p of sweep.parameters) cells.push(r.parameters[p] === null || r.parameters[p] === undefined ? "" : String(r.parameters[p]));
    cells.push(r.end_reason);
    for (const c of cells) tr.append(node("td", "", c));
    body.append(tr);
  }
  table.append(body);
  box.append(table);
  return box;
}

function draw(el, state) {
  const root = node("div", "runyard-run-details runyard-live");
  if (!state || !state.run) { root.append(node("div", "ry-empty", "Loading run…")); el.replaceChildren(root); return; }
  const run = state.run;
  const head = node("div", "ry-head");
  head.append(node("b", "ry-title", `${run.display_name} (run ${run.number})`));
  const status = node("span", "ry-status", run.status);
  status.dataset.status = run.status;
  head.append(status);
  if (run.duration !== null && run.duration !== undefined) head.append(node("span", "ry-duration", `${run.duration.toFixed(1)} s`));
  head.append(node("small", "ry-id", run.run_id));
  root.append(head);
  if (run.error) root.append(node("div", "ry-error", run.error));
  const charts = node("div", "ry-charts");
  if (!state.metrics.length) charts.append(node("div", "ry-empty", "No metrics logged yet."));
  for (const m of state.metrics) charts.append(chart(m));
  root.append(charts);
  if (state.sweep) root.append(sweepView(state.sweep));
  const details = node("details");
  details.open = true;
  details.append(node("summary", "", "Driver log (tail)"));
  const pre = node("pre", "ry-log", state.log || "(no driver log yet)");
  details.append(pre);
  root.append(details);
  const old = el.querySelector("pre.ry-log");
  const atBottom = !old || old.scrollTop + old.clientHeight >= old.scrollHeight - 4;
  el.replaceChildren(root);
  if (atBottom) pre.scrollTop = pre.scrollHeight;  // follow the log, as a terminal does
}

function render({ model, el }) {
  const update = () => draw(el, model.get("state"));
  model.on("change:state", update);
  update();
  return () => model.off("change:state", update);
}

export default { render };
