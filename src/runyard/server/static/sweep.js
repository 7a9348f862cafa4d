/* The studio's sweep page: while the sweep runs, long-polls /api/sweeps/ID/view (it
 * answers when a trial or the sweep changed) and swaps in the re-rendered parts. The
 * parts are HTML and SVG rendered (and escaped) by the server's own templates and
 * plots module, parsed with DOMParser (which runs no script) and imported as nodes.
 * Hovering a line or a table row highlights that trial in both charts.
 * Exposed for tests: window.runyard.sweep = {updates, view, live}. */
"use strict";

(() => {
  const data = JSON.parse(document.getElementById("client-data").textContent);
  const state = (window.runyard = window.runyard || {});
  state.sweep = { updates: 0, view: null, live: false };

  function swapSvg(id, markup) {
    const doc = new DOMParser().parseFromString(markup, "image/svg+xml");
    const box = document.getElementById(id);
    if (doc.documentElement && doc.documentElement.nodeName === "svg") {
      box.replaceChildren(document.importNode(doc.documentElement, true));
    }
  }

  function swapParts(markup) {
    const doc = new DOMParser().parseFromString(markup, "text/html");
    for (const id of ["part-summary", "part-trials", "part-importance"]) {
      const fresh = doc.getElementById(id);
      const here = document.getElementById(id);
      if (fresh && here) here.replaceChildren(...Array.from(fresh.childNodes, (n) => document.importNode(n, true)));
    }
  }

  function highlight(runId) {
    for (const n of document.querySelectorAll("[data-run]")) {
      n.classList.toggle("hl", runId !== null && n.dataset.run === runId);
      n.classList.toggle("dim", runId !== null && n.dataset.run !== runId && n.tagName !== "TR");
    }
  }

  document.addEventListener("mouseover", (ev) => {
    const target = ev.target instanceof Element ? ev.target.closest("[data-run]") : null;
    highlight(target ? target.dataset.run : null);
  });

  async function follow() {
    let key = data.change_key.join(",");
    state.sweep.live = true;
    for (;;) {
      let answer;
      try {
        const resp = await fetch(`/api/sweeps/${encodeURIComponent(data.run_id)}/view?after=${key}&wait=20`, {
          credentials: "same-origin",
        });
        if (!resp.ok) throw new Error(String(resp.status));
        answer = await resp.json();
      } catch (_) {
        await new Promise((r) => setTimeout(r, 2000)); /* the studio restarting: retry */
        continue;
      }
      const next = answer.change_key.join(",");
      if (next !== key) {
        key = next;
        swapSvg("curves", answer.curves_svg);
        swapSvg("parallel", answer.parallel_svg);
        swapParts(answer.parts_html);
        state.sweep.updates += 1;
      }
      state.sweep.view = answer.view;
      if (answer.view.sweep.terminal) break;
    }
    state.sweep.live = false;
  }

  const status = document.getElementById("sweep-status");
  const ended = ["Completed", "Failed", "Canceled"].includes(status ? status.textContent.trim() : "");
  if (!ended) follow();
})();
