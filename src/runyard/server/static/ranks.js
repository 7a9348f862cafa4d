/* A distributed run's metrics across its ranks. Rank 0 logs under the plain names and
 * rank r under "rank<r>/<name>" (docs/distributed.md); the run page's "ranks" control
 * shows rank 0 with each other rank in its own section (the default), every rank of a
 * name in one chart, or their mean with a min-max band, step by step. */
"use strict";

const RYRanks = (() => {
  const RANK_KEY = /^rank(\d+)\/(.+)$/;

  /* [rank, name] of a metric key: rank 0 for a plain name. */
  function parse(key) {
    const m = RANK_KEY.exec(key);
    return m ? [Number(m[1]), m[2]] : [0, key];
  }

  /* The members of `name` among `keys`, as [rank, key] in rank order. */
  function members(keys, name) {
    const out = [];
    for (const key of keys) {
      const [rank, base] = parse(key);
      if (base === name) out.push([rank, key]);
    }
    return out.sort((a, b) => a[0] - b[0]);
  }

  /* The mean and the min and max over ranks at each step a rank logged, from
   * [{steps, times, values}] (values not finite are left out; a step none has is none). */
  function band(series) {
    const at = new Map();
    for (const s of series) {
      for (let i = 0; i < s.steps.length; i++) {
        const v = RY.num(s.values[i]);
        if (typeof v !== "number" || !Number.isFinite(v)) continue;
        let cell = at.get(s.steps[i]);
        if (!cell) at.set(s.steps[i], (cell = { sum: 0, n: 0, lo: v, hi: v, t: s.times[i] }));
        cell.sum += v;
        cell.n += 1;
        cell.lo = Math.min(cell.lo, v);
        cell.hi = Math.max(cell.hi, v);
        cell.t = Math.min(cell.t, s.times[i]);
      }
    }
    const steps = Array.from(at.keys()).sort((a, b) => a - b);
    const cells = steps.map((s) => at.get(s));
    return {
      steps,
      times: cells.map((c) => c.t),
      values: cells.map((c) => c.sum / c.n),
      lo: cells.map((c) => c.lo),
      hi: cells.map((c) => c.hi),
    };
  }

  return { parse, members, band };
})();
