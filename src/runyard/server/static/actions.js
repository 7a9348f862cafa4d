/* Runyard studio: the run page's actions (cancel, rerun, delete with undo, set and
 * remove tags). Writes go through RY.write, with the studio's access token. */
"use strict";

(() => {
  const box = document.getElementById("run-actions");
  if (!box) return;
  const runId = box.dataset.runId;
  const runPath = `/api/runs/${encodeURIComponent(runId)}`;
  const $ = (id) => document.getElementById(id);
  const note = $("action-note");
  const errorBox = $("action-error");
  let token = null;

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = !message;
  }

  const write = RY.write;

  function showStatus(run) {
    box.dataset.status = run.status;
    for (const node of document.querySelectorAll("#run-status, .run-status-cell")) {
      node.replaceChildren(RY.statusBadge(run.status));
    }
    $("cancel-run").hidden = RY.TERMINAL.has(run.status) || run.status === "NotStarted";
    showRerun(run.status);
    showDeleted(run);
  }

  // Only a submitted run has a snapshot and a definition to start again from.
  function showRerun(status) {
    $("rerun-run").hidden = !(RY.TERMINAL.has(status) && box.dataset.kind === "submitted");
  }

  // An ended run can be deleted; a deleted one shows the banner with its undo.
  function showDeleted(run) {
    const deleted = run.deleted_at !== null && run.deleted_at !== undefined;
    $("deleted-banner").hidden = !deleted;
    $("delete-run").hidden = deleted || !RY.TERMINAL.has(run.status);
  }

  // ---- delete and undo: a soft delete, so undo is exact ------------------------------
  function deleteAction(button, verb, done) {
    button.addEventListener("click", async () => {
      showError("");
      try {
        showDeleted(await write("POST", `${runPath}/${verb}`));
        note.textContent = done;
      } catch (err) {
        showError(`could not ${verb}: ${err.message}`);
      }
    });
  }
  deleteAction($("delete-run"), "delete", "run deleted");
  deleteAction($("restore-run"), "restore", "run restored");

  // ---- rerun: the same as `runyard runs rerun`; then go to the new run --------------
  $("rerun-run").addEventListener("click", async () => {
    showError("");
    $("rerun-run").disabled = true;
    note.textContent = "starting a rerun…";
    try {
      const fresh = await write("POST", `${runPath}/rerun`);
      window.location.assign(`/runs/${encodeURIComponent(fresh.run_id)}`);
    } catch (err) {
      note.textContent = "";
      $("rerun-run").disabled = false;
      showError(`could not rerun: ${err.message}`);
    }
  });

  // ---- cancel: ask in the page (no window.confirm), then follow the run to its end --
  $("cancel-run").addEventListener("click", () => {
    showError("");
    $("cancel-confirm").hidden = false;
    $("cancel-run").hidden = true;
  });
  $("cancel-no").addEventListener("click", () => {
    $("cancel-confirm").hidden = true;
    $("cancel-run").hidden = false;
  });
  $("cancel-yes").addEventListener("click", async () => {
    $("cancel-confirm").hidden = true;
    try {
      let run = await write("POST", `${runPath}/cancel`);
      note.textContent = RY.TERMINAL.has(run.status) ? "" : "cancel requested: stopping…";
      showStatus(run);
      // The runner stops the script (SIGTERM, then SIGKILL) and sets Canceled.
      while (!RY.TERMINAL.has(run.status)) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        run = await RY.api(runPath);
      }
      note.textContent = "";
      showStatus(run);
    } catch (err) {
      $("cancel-run").hidden = false;
      showError(`could not cancel: ${err.message}`);
    }
  });

  // ---- tags: KEY=VALUE as in the CLI ----------------------------------------------
  function renderTags(tags) {
    const list = $("run-tags");
    if (!list) return;
    const keys = Object.keys(tags).sort();
    if (!keys.length) {
      list.replaceChildren(RY.el("p", { class: "muted" }, "none"));
      return;
    }
    const spans = keys.map((k) =>
      RY.el(
        "span",
        { class: "tag", "data-key": k },
        tags[k] ? `${k}: ${tags[k]}` : k,
        // Only a page holding the token can remove; a read-only page shows plain tags.
        token
          ? RY.el(
              "button",
              {
                type: "button",
                class: "tag-remove",
                title: `remove tag ${k}`,
                "aria-label": `remove tag ${k}`,
                onclick: () => removeTag(k),
              },
              "\u00d7",
            )
          : null,
      ),
    );
    list.replaceChildren(RY.el("span", { class: "tags" }, ...spans));
  }

  async function removeTag(key) {
    showError("");
    try {
      await write("POST", `${runPath}/tags/remove`, { keys: [key] });
      renderTags((await RY.api(runPath)).tags);
      note.textContent = `tag ${key} removed`;
    } catch (err) {
      showError(`could not remove tag ${key}: ${err.message}`);
    }
  }

  $("tag-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    showError("");
    const text = $("tag-input").value.trim();
    const eq = text.indexOf("=");
    if (eq <= 0) {
      showError(`write a tag as KEY=VALUE (got ${JSON.stringify(text)})`);
      return;
    }
    const key = text.slice(0, eq).trim();
    const value = text.slice(eq + 1).trim();
    try {
      await write("PATCH", `${runPath}/tags`, { tags: { [key]: value } });
      renderTags((await RY.api(runPath)).tags);
      $("tag-input").value = "";
      note.textContent = `tag ${key} set`;
    } catch (err) {
      showError(`could not set tag ${key}: ${err.message}`);
    }
  });

  // The page's live stream (run.js) redraws the status badge: a run that ends by
  // itself takes its Cancel button with it.
  const badge = document.getElementById("run-status");
  if (badge) {
    new MutationObserver(() => {
      const status = badge.textContent.trim();
      if (RY.TERMINAL.has(status)) {
        $("cancel-run").hidden = true;
        $("cancel-confirm").hidden = true;
        $("delete-run").hidden = !$("deleted-banner").hidden;
      }
      showRerun(status);
    }).observe(badge, { childList: true, subtree: true, characterData: true });
  }

  RY.writeToken()
    .then((t) => {
      token = t;
      if (!token) {
        note.textContent = "read-only: open the studio's ?token= URL to make changes";
        return null;
      }
      return RY.api(runPath).then((run) => renderTags(run.tags)); // with remove buttons
    })
    .catch((err) => showError(err.message));
})();
