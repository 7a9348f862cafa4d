/* Runyard studio: helpers shared by every page.
 * Data from the API is put into the page with textContent / createTextNode only. */
"use strict";

const RY = (() => {
  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  /* el("a", {href: url, class: "x"}, "text", childNode) */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = String(v);
      else if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  async function api(path) {
    const resp = await fetch(path, { credentials: "same-origin" });
    if (!resp.ok) {
      let message = resp.statusText || String(resp.status);
      try {
        message = (await resp.json()).error.message;
      } catch (_) {
        /* not our JSON error: keep the status text */
      }
      throw new ApiError(resp.status, message);
    }
    return resp.json();
  }

  async function text(path) {
    const resp = await fetch(path, { credentials: "same-origin" });
    if (!resp.ok) throw new ApiError(resp.status, resp.statusText);
    return resp.text();
  }

  /* Non-finite floats arrive as {"$float": "NaN"}, {"$float": "Infinity"} or
     {"$float": "-Infinity"}, everywhere (runyard.wire.values); a string stays a string. */
  const NONFINITE = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };

  function num(v) {
    if (v && typeof v === "object" && !Array.isArray(v) && v.$float in NONFINITE) {
      return NONFINITE[v.$float];
    }
    return v;
  }

  function decodeAny(v) {
    if (Array.isArray(v)) return v.map(decodeAny);
    if (v && typeof v === "object") {
      const keys = Object.keys(v);
      if (keys.length === 1 && keys[0] === "$float") return num(v);
      const out = {};
      for (const k of keys) out[k] = decodeAny(v[k]);
      return out;
    }
    return v;
  }

  function fmtValue(v) {
    v = num(v);
    if (v === null || v === undefined) return "";
    if (typeof v === "number") {
      if (Number.isNaN(v)) return "NaN";
      if (!Number.isFinite(v)) return v > 0 ? "∞" : "-∞";
      if (Number.isInteger(v)) return String(v);
      return String(Number(v.toPrecision(6)));
    }
    if (typeof v === "object") return JSON.stringify(v);
    return String(v);
  }

  function pad(n) {
    return String(n).padStart(2, "0");
  }

  function fmtTime(ts) {
    if (ts === null || ts === undefined) return "";
    const d = new Date(ts * 1000);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
      `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }

  function fmtDuration(s) {
    if (s === null || s === undefined) return "";
    if (s < 10) return `${s.toFixed(1)}s`;
    s = Math.round(s);
    if (s < 60) return `${s}s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m}m ${pad(s % 60)}s`;
    return `${Math.floor(m / 60)}h ${pad(m % 60)}m`;
  }

  function fmtBytes(n) {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) {
      n /= 1024;
      i++;
    }
    return i === 0 ? `${n} B` : `${n.toFixed(1)} ${units[i]}`;
  }

  /* "/api/runs/ID/files/" + "a b/c.txt" with every segment escaped. */
  function pathUrl(prefix, path) {
    return prefix + path.split("/").map(encodeURIComponent).join("/");
  }

  function statusBadge(status) {
    return el("span", { class: `status status-${String(status).toLowerCase()}` }, status);
  }

  const TERMINAL = new Set(["Completed", "Failed", "Canceled"]);

  function message(node, text, cls) {
    node.replaceChildren(el("p", { class: cls || "muted" }, text));
  }

  /* Writes carry the access token as a Bearer header (a cookie is never enough for a
     write); a page learns it from GET /api/session, which answers it only to a request
     that showed it. writeToken() is that token, or null on a read-only page. */
  let session = null;
  function writeToken() {
    session = session || api("/api/session").then((s) => s.write_token);
    return session;
  }

  async function write(method, path, body) {
    const token = await writeToken();
    if (!token) {
      throw new Error(
        "changes need the studio's access token: open the URL `runyard studio` printed " +
          "(ending in ?token=...)",
      );
    }
    const headers = { Authorization: `Bearer ${token}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const resp = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!resp.ok) {
      let message = `${resp.status} ${resp.statusText}`;
      try {
        message = (await resp.json()).error.message;
      } catch (_) {
        /* not our JSON error: keep the status line */
      }
      throw new Error(message);
    }
    return resp.status === 204 ? null : resp.json();
  }

  return {
    ApiError, el, api, text, num, decodeAny, fmtValue, fmtTime, fmtDuration, fmtBytes,
    pathUrl, statusBadge, message, TERMINAL, writeToken, write,
  };
})();
