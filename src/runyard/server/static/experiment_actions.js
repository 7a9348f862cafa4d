/* Runyard studio: an experiment page's delete with undo (a soft delete: undo is exact).
 * Writes go through RY.write, with the studio's access token. */
"use strict";

(() => {
  const box = document.getElementById("experiment-actions");
  if (!box) return;
  const path = `/api/experiments/${encodeURIComponent(box.dataset.experimentId)}`;
  const $ = (id) => document.getElementById(id);

  function show(experiment, note) {
    const deleted = experiment.deleted_at !== null && experiment.deleted_at !== undefined;
    $("experiment-deleted").hidden = !deleted;
    $("delete-experiment").hidden = deleted;
    $("experiment-note").textContent = note;
  }

  function act(button, verb, done) {
    button.addEventListener("click", async () => {
      $("experiment-error").hidden = true;
      try {
        show(await RY.write("POST", `${path}/${verb}`), done);
      } catch (err) {
        $("experiment-error").textContent = `could not ${verb}: ${err.message}`;
        $("experiment-error").hidden = false;
      }
    });
  }

  act($("delete-experiment"), "delete", "experiment deleted");
  act($("restore-experiment"), "restore", "experiment restored");
})();
