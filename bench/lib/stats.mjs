// Small statistics and formatting helpers for the benchmarks. No assertions:
// benchmarks report numbers, they never pass or fail on time.

export function quantile(xs, q) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  // nearest-rank on a sorted copy; with N=20, p90 is the 18th value
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1));
  return s[i];
}

export const median = (xs) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export const p90 = (xs) => quantile(xs, 0.9);

export function summarize(samplesMs) {
  return { n: samplesMs.length, medianMs: round(median(samplesMs)), p90Ms: round(p90(samplesMs)), minMs: round(Math.min(...samplesMs)), samplesMs: samplesMs.map(round) };
}

export const round = (x, d = 2) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : null);

export function ratio(a, b) {
  return a && b ? round(a / b, 2) : null;
}

/** A plain-text table: rows of string cells, first row is the header. Right-aligns numbers. */
export function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c] ?? '').length)));
  const isNum = (s) => /^[-+]?[0-9.]+[×%a-zA-Z ]*$/.test(s) || s === '—';
  return rows
    .map((r, ri) => {
      const line = r.map((cell, c) => {
        const s = String(cell ?? '');
        return ri > 0 && c > 0 && isNum(s) ? s.padStart(widths[c]) : s.padEnd(widths[c]);
      });
      return line.join('  ').trimEnd();
    })
    .flatMap((l, i) => (i === 0 ? [l, '-'.repeat(l.length)] : [l]))
    .join('\n');
}

export const fmtMs = (x) => (x == null ? '—' : x >= 100 ? x.toFixed(0) : x.toFixed(1));
export const fmtX = (x) => (x == null ? '—' : `${x.toFixed(2)}×`);
export const fmtKb = (kb) => (kb == null ? '—' : `${(kb / 1024).toFixed(1)} MiB`);
