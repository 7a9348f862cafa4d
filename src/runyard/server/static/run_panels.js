/* The run page's panels that load on demand: records, files, snapshot, environment
 * and child runs. Every string from the API goes in as text. */
"use strict";

const RYPanels = (() => {
  const { el, api, text, num, decodeAny, fmtValue, fmtTime, fmtDuration, fmtBytes, pathUrl } = RY;

  function recordTable(columns, rows) {
    const head = el("tr", {}, ...columns.map((c) => el("th", {}, c)));
    const body = rows.slice(0, 1000).map((r) => el("tr", {}, ...r.map((v) => el("td", { class: typeof v === "number" ? "num" : null }, fmtValue(v)))));
    return el("div", { class: "table-wrap" }, el("table", { class: "grid record-table" }, el("thead", {}, head), el("tbody", {}, ...body)));
  }

  function tableFromPayload(payload) {
    if (Array.isArray(payload)) {
      const columns = [...new Set(payload.flatMap((r) => (r && typeof r === "object" ? Object.keys(r) : [])))];
      return [columns, payload.map((r) => columns.map((c) => (r ? r[c] : null)))];
    }
    if (payload && typeof payload === "object") {
      const columns = Object.keys(payload);
      const n = Math.max(0, ...columns.map((c) => (Array.isArray(payload[c]) ? payload[c].length : 1)));
      const rows = [];
      for (let i = 0; i < n; i++) rows.push(columns.map((c) => (Array.isArray(payload[c]) ? payload[c][i] : payload[c])));
      return [columns, rows];
    }
    return [["value"], [[payload]]];
  }

  function numericChart(title, seriesByName) {
    const box = el("div", { class: "record-chart", "data-key": title });
    const chart = new RYCharts.Chart(box, title, { xMode: "step" });
    const series = Object.entries(seriesByName).map(([label, values]) => ({
      label, steps: values.map((_, i) => i), times: values.map((_, i) => i), values,
    }));
    // Defer drawing until the box is in the page.
    setTimeout(() => chart.setSeries(series), 0);
    return box;
  }

  /* Structured metrics: images, lists and rows as charts, tables as tables. */
  function records(holder, items, base) {
    const groups = new Map();
    for (const r of items) {
      const id = r.kind + "\u0000" + r.key;
      if (!groups.has(id)) groups.set(id, { key: r.key, kind: r.kind, items: [] });
      groups.get(id).items.push(decodeAny(r.payload));
    }
    const parts = [];
    for (const g of groups.values()) {
      if (g.kind === "image") {
        const figures = g.items.filter((p) => p && typeof p.path === "string").map((p) =>
          el("figure", {}, el("img", { src: pathUrl(base + "/files/", p.path), alt: g.key, loading: "lazy" }), el("figcaption", {}, p.path)));
        parts.push(el("div", { class: "record image-record" }, el("h4", {}, g.key), el("div", { class: "images" }, ...figures)));
      } else if (g.kind === "list") {
        const values = g.items[g.items.length - 1];
        const list = Array.isArray(values) ? values : [values];
        const box = el("div", { class: "record" });
        if (list.some((v) => typeof num(v) === "number")) box.append(numericChart(g.key, { [g.key]: list.map(num) }));
        else box.append(el("h4", {}, g.key), recordTable([g.key], list.map((v) => [v])));
        parts.push(box);
      } else if (g.kind === "row") {
        const [columns, rows] = tableFromPayload(g.items);
        const numeric = {};
        columns.forEach((c, j) => {
          if (rows.some((r) => typeof num(r[j]) === "number")) numeric[c] = rows.map((r) => num(r[j]));
        });
        const box = el("div", { class: "record" });
        if (Object.keys(numeric).length) box.append(numericChart(g.key, numeric));
        box.append(el("h4", {}, g.key), recordTable(columns, rows));
        parts.push(box);
      } else {
        const [columns, rows] = tableFromPayload(g.items[g.items.length - 1]);
        parts.push(el("div", { class: "record" }, el("h4", {}, g.key), recordTable(columns, rows)));
      }
    }
    holder.replaceChildren(...(parts.length ? [el("h3", {}, "Records"), ...parts] : []));
  }

  function fileTree(files, hrefFor, onClick) {
    const root = { dirs: new Map(), files: [] };
    for (const f of files) {
      const parts = f.path.split("/");
      let node = root;
      for (const part of parts.slice(0, -1)) {
        if (!node.dirs.has(part)) node.dirs.set(part, { dirs: new Map(), files: [] });
        node = node.dirs.get(part);
      }
      node.files.push({ ...f, name: parts[parts.length - 1] });
    }
    const build = (node) => {
      const items = [];
      for (const [name, sub] of [...node.dirs.entries()].sort()) {
        items.push(el("li", { class: "dir" }, el("details", { open: true }, el("summary", {}, name + "/"), build(sub))));
      }
      for (const f of node.files.sort((a, b) => (a.name < b.name ? -1 : 1))) {
        const link = el("a", { href: hrefFor(f), "data-path": f.path }, f.name);
        if (onClick) link.addEventListener("click", (ev) => { ev.preventDefault(); onClick(f); });
        items.push(el("li", { class: "file" }, link, " ", el("span", { class: "muted small" }, fmtBytes(f.size))));
      }
      return el("ul", {}, ...items);
    };
    return build(root);
  }

  async function files(holder, base) {
    try {
      const list = (await api(base + "/files")).files;
      if (!list.length) return RY.message(holder, "No files yet.");
      holder.replaceChildren(fileTree(list, (f) => pathUrl(base + "/files/", f.path)));
    } catch (err) {
      RY.message(holder, "Could not list files: " + err.message, "error");
    }
  }

  async function snapshot(holder, run) {
    const id = run.definition && run.definition.snapshot_id;
    if (!id) return RY.message(holder, "This run has no source snapshot (it was not submitted from a folder).");
    const snapBase = `/api/snapshots/${encodeURIComponent(id)}/files/`;
    const viewer = el("pre", { class: "source", id: "snapshot-viewer" });
    const title = el("h4", { id: "snapshot-file" }, "Pick a file");
    try {
      const manifest = (await api(`/api/snapshots/${encodeURIComponent(id)}`)).files;
      const list = Object.entries(manifest).map(([path, meta]) => ({ path, size: meta.size }));
      const show = async (f) => {
        title.textContent = f.path;
        if (f.size > 1024 * 1024) {
          viewer.textContent = "This file is large; use the link to download it.";
          return;
        }
        viewer.textContent = await text(pathUrl(snapBase, f.path));
      };
      holder.replaceChildren(el("p", { class: "muted" }, `Snapshot ${id} · ${list.length} files`),
        el("div", { class: "columns" }, el("div", { class: "file-tree" }, fileTree(list, (f) => pathUrl(snapBase, f.path), show)), el("div", { class: "grow" }, title, viewer)));
      const script = list.find((f) => f.path === run.definition.script) || list[0];
      if (script) show(script);
    } catch (err) {
      RY.message(holder, "Could not load the snapshot: " + err.message, "error");
    }
  }

  function jsonBlock(value) {
    return el("pre", { class: "source" }, typeof value === "string" ? value : JSON.stringify(value, null, 2));
  }

  async function environment(holder, run, base) {
    const env = run.definition && run.definition.environment;
    const parts = [];
    if (env && typeof env === "object") {
      const rows = [];
      const blocks = [];
      for (const [k, v] of Object.entries(env)) {
        if (v && typeof v === "object") blocks.push(el("h4", {}, k), jsonBlock(v));
        else if (typeof v === "string" && v.includes("\n")) blocks.push(el("h4", {}, k), jsonBlock(v));
        else rows.push(el("tr", {}, el("th", {}, k), el("td", {}, fmtValue(v))));
      }
      parts.push(el("h3", {}, "Environment"), el("table", { class: "kv" }, ...rows), ...blocks);
    } else if (env) {
      parts.push(el("h3", {}, "Environment"), el("p", {}, String(env)));
    }
    const name = env && typeof env === "object" ? env.name : env;
    if (name) {
      try {
        const version = env.version ? `?version=${encodeURIComponent(env.version)}` : "";
        const record = await api(`/api/environments/${encodeURIComponent(name)}${version}`);
        parts.push(el("h3", {}, `Registered spec: ${record.name} v${record.version}`), jsonBlock(decodeAny(record.spec)));
      } catch (err) {
        if (err.status !== 404) parts.push(el("p", { class: "error" }, err.message));
      }
    }
    parts.push(el("h3", {}, "Build log"));
    try {
      parts.push(el("pre", { class: "log", id: "environment-log" }, await text(base + "/files/system_logs/environment_build.log")));
    } catch (err) {
      parts.push(el("p", { class: "muted" }, err.status === 404 ? "No environment build log for this run." : err.message));
    }
    if (!env) parts.unshift(el("p", { class: "muted" }, "This run names no environment."));
    holder.replaceChildren(...parts);
  }

  async function children(holder, base) {
    try {
      const page = await api(base + "/children");
      if (!page.runs.length) return RY.message(holder, "This run has no child runs.");
      const rows = page.runs.map((r) => el("tr", {},
        el("td", {}, RY.statusBadge(r.status)),
        el("td", {}, el("a", { href: "/runs/" + encodeURIComponent(r.run_id) }, `${r.number} ${r.display_name || ""}`)),
        el("td", {}, fmtTime(r.started_at || r.created_at)),
        el("td", { class: "num" }, fmtDuration(r.duration))));
      holder.replaceChildren(el("table", { class: "grid" },
        el("thead", {}, el("tr", {}, el("th", {}, "Status"), el("th", {}, "Run"), el("th", {}, "Started"), el("th", {}, "Duration"))),
        el("tbody", {}, ...rows)));
    } catch (err) {
      RY.message(holder, "Could not load child runs: " + err.message, "error");
    }
  }

  return { records, files, snapshot, environment, children, fileTree };
})();
