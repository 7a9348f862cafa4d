/* Runs table: select runs and compare them. */
"use strict";

(() => {
  const form = document.getElementById("compare-form");
  if (!form) return;
  const button = document.getElementById("compare-button");
  const count = document.getElementById("selected-count");
  const all = document.getElementById("select-all");
  const boxes = () => Array.from(form.querySelectorAll("input[name=runs]"));

  function update() {
    const n = boxes().filter((b) => b.checked).length;
    button.disabled = n < 1;
    count.textContent = n ? `${n} selected` : "select runs to compare";
  }

  all.addEventListener("change", () => {
    for (const b of boxes()) b.checked = all.checked;
    update();
  });
  form.addEventListener("change", update);
  form.addEventListener("submit", (ev) => {
    // One comma-separated parameter keeps the URL short and shareable.
    ev.preventDefault();
    const ids = boxes().filter((b) => b.checked).map((b) => b.value);
    if (ids.length) window.location.href = "/compare?runs=" + ids.map(encodeURIComponent).join(",");
  });
  update();
})();
