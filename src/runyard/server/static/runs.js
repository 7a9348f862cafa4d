/* Runs table as a workbench: select runs and compare or overlay them, choose columns,
 * save views (in this browser's localStorage), move with the keyboard, and follow the
 * experiment live (server-sent events on the runs' change counters; no timers). */
"use strict";

(() => {
  const form = document.getElementById("compare-form");
  if (!form) return;
  const data = JSON.parse(document.getElementById("runs-data").textContent);
  const button = document.getElementById("compare-button");
  const count = document.getElementById("selected-count");
  const all = document.getElementById("select-all");
  const table = document.getElementById("runs");
  const MAX_OVERLAY = 50;
  const boxes = () => Array.from(form.querySelectorAll("input[name=runs]"));
  const rows = () => Array.from(table.tBodies[0].rows).filter((r) => r.dataset.runId);
  window.runyard = { refreshes: 0, live: false };

  function update() {
    const n = boxes().filter((b) => b.checked).length;
    button.disabled = n < 1;
    count.textContent = n ? `${n} selected` : "select runs to compare";
  }

  function openCompare(ids) {
    // One comma-separated parameter keeps the URL short and shareable.
    if (ids.length) window.location.href = "/compare?runs=" + ids.map(encodeURIComponent).join(",");
  }

  all.addEventListener("change", () => {
    for (const b of boxes()) b.checked = all.checked;
    update();
  });
  form.addEventListener("change", update);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    openCompare(boxes().filter((b) => b.checked).map((b) => b.value));
  });
  document.getElementById("overlay-visible").addEventListener("click", () => {
    openCompare(rows().slice(0, MAX_OVERLAY).map((r) => r.dataset.runId));
  });

  /* -- columns and saved views: both are the page's query string ----------------- */
  const filters = document.querySelector("form.filters");
  document.getElementById("apply-columns").addEventListener("click", () => {
    const chooser = document.getElementById("column-chooser");
    const picked = (attr) => Array.from(chooser.querySelectorAll(`input[${attr}]:checked`))
      .map((b) => b.getAttribute(attr));
    // "loss@100, acc@10": each a metric's value at that step (metrics.NAME@STEP).
    const atSteps = document.getElementById("at-step").value.split(",")
      .map((s) => s.trim()).filter((s) => s).map((s) => `metrics.${s}`);
    filters.elements.cols.value = [...picked("data-col"), ...atSteps].join(",");
    filters.elements.metrics.value = picked("data-metric").join(",");
    filters.submit();
  });

  const VIEWS_KEY = `runyard.views.${data.experiment_id}`;
  const views = () => {
    try {
      return JSON.parse(window.localStorage.getItem(VIEWS_KEY) || "{}");
    } catch (_) {
      return {};
    }
  };
  const select = document.getElementById("saved-views");
  const remove = document.getElementById("delete-view");
  function listViews() {
    const saved = views();
    const here = window.location.search;
    select.replaceChildren(RY.el("option", { value: "" }, "saved views…"));
    for (const name of Object.keys(saved).sort()) {
      select.append(RY.el("option", { value: name, selected: saved[name] === here }, name));
    }
    remove.disabled = !select.value;
  }
  document.getElementById("save-view").addEventListener("click", () => {
    const input = document.getElementById("view-name");
    const name = input.value.trim();
    if (!name) {
      input.focus();
      return;
    }
    input.value = "";
    const saved = views();
    saved[name] = window.location.search;
    window.localStorage.setItem(VIEWS_KEY, JSON.stringify(saved));
    listViews();
  });
  select.addEventListener("change", () => {
    const saved = views();
    if (select.value in saved) window.location.search = saved[select.value];
  });
  remove.addEventListener("click", () => {
    const saved = views();
    delete saved[select.value];
    window.localStorage.setItem(VIEWS_KEY, JSON.stringify(saved));
    listViews();
  });
  listViews();

  /* -- keyboard: j/k or arrows move, Enter opens, x selects ----------------------- */
  let current = -1;
  function focusRow(i) {
    const list = rows();
    if (!list.length) return;
    current = Math.max(0, Math.min(list.length - 1, i));
    for (const r of list) r.classList.remove("current");
    list[current].classList.add("current");
    list[current].scrollIntoView({ block: "nearest" });
    table.dataset.current = list[current].dataset.runId;
  }
  document.addEventListener("keydown", (ev) => {
    const t = ev.target;
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (t instanceof HTMLElement && (t.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/.test(t.tagName))) {
      if (!(t instanceof HTMLInputElement && t.type === "checkbox")) return;
    }
    const list = rows();
    if (ev.key === "j" || ev.key === "ArrowDown") focusRow(current + 1);
    else if (ev.key === "k" || ev.key === "ArrowUp") focusRow(current - 1);
    else if (ev.key === "Enter" && current >= 0 && list[current]) {
      const link = list[current].querySelector("a[href^='/runs/']");
      if (link) window.location.href = link.getAttribute("href");
    } else if (ev.key === "x" && current >= 0 && list[current]) {
      const box = list[current].querySelector("input[name=runs]");
      box.checked = !box.checked;
      update();
    } else return;
    ev.preventDefault();
  });

  /* -- live: the experiment's stream says what moved; the table reads itself again - */
  let source = null;
  let busy = false;
  let again = false;
  function streamUrl() {
    const seqs = rows().map((r) => `${r.dataset.runId}:${r.dataset.changeSeq}`).join(",");
    const q = new URLSearchParams({ runs: seqs, newest: String(data.newest), total: String(data.total) });
    return `/api/experiments/${encodeURIComponent(data.experiment_id)}/stream?${q}`;
  }
  function listen() {
    if (source) source.close();
    source = new EventSource(streamUrl());
    source.addEventListener("open", () => { window.runyard.live = true; });
    source.addEventListener("changed", (ev) => {
      const change = JSON.parse(ev.data);
      data.newest = change.newest;
      data.total = change.total;
      refresh();
    });
  }
  async function refresh() {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      const resp = await fetch(window.location.href, { credentials: "same-origin" });
      if (!resp.ok) return;
      const doc = new DOMParser().parseFromString(await resp.text(), "text/html");
      const body = doc.querySelector("#runs tbody");
      if (!body) return;
      const checked = new Set(boxes().filter((b) => b.checked).map((b) => b.value));
      const focused = table.dataset.current;
      // Rows are swapped in one step, keeping selections and the keyboard's row.
      table.tBodies[0].replaceWith(body);
      for (const b of boxes()) b.checked = checked.has(b.value);
      const list = rows();
      current = list.findIndex((r) => r.dataset.runId === focused);
      if (current >= 0) list[current].classList.add("current");
      for (const id of ["run-total", "pager"]) {
        const fresh = doc.getElementById(id);
        const here = document.getElementById(id);
        if (fresh && here && fresh.innerHTML !== here.innerHTML) here.replaceWith(fresh);
      }
      update();
      window.runyard.refreshes += 1;
      listen(); // the stream follows the rows now shown
    } finally {
      busy = false;
      if (again) {
        again = false;
        refresh();
      }
    }
  }
  update();
  listen();
})();
