// Reads one validation program's TAP output and turns it, with how the program
// ended, into scored points. Rules (from the suite's README):
// - only top-level lines count: `ok N`, `not ok N`; `# SKIP` / `# TODO` make a
//   point skipped;
// - a program that prints no points (hooks, the *_fail programs…) is one point,
//   passed when it exits 0 with no YAML `"error"` diagnostic; but a program whose
//   output is runtimetest's TAP from inside the container (default, process, …)
//   and that prints nothing has not run its container's process: a failure;
// - a program that ends abnormally (timeout, non-zero exit, no plan, fewer
//   points than its plan) gets one extra failed point saying so.

/**
 * @typedef {{ n: number | null, status: 'pass' | 'fail' | 'skip', description: string, detail: string }} Point
 * @typedef {{ points: Point[], plan: number | null, errors: string[] }} Tap
 * @typedef {{ code: number | null, signal: string | null, timedOut: boolean }} Ending
 * @typedef {{ printsRuntimetest?: boolean }} Kind
 */

const POINT = /^(not ok|ok)\b\s*(\d+)?\s*(?:-\s*)?([^#]*?)\s*(?:#\s*(.*))?$/;
const PLAN = /^1\.\.(\d+)/;

/**
 * @param {string} text
 * @returns {Tap}
 */
export function parseTap(text) {
  /** @type {Point[]} */
  const points = [];
  /** @type {string[]} */
  const errors = [];
  let plan = null;
  /** @type {string[] | null} */
  let yaml = null;
  for (const line of text.split('\n')) {
    if (yaml) {
      if (/^\s+\.\.\.\s*$/.test(line)) {
        // A YAML block right after a point belongs to it; with no point before it,
        // it is the program's own diagnostic (how the no-point programs fail).
        const body = yaml.join('\n');
        const last = points.at(-1);
        if (last && last.detail === '') last.detail = body;
        else errors.push(...errorsOf(body));
        yaml = null;
      } else {
        yaml.push(line);
      }
      continue;
    }
    if (/^\s+---\s*$/.test(line)) {
      yaml = [];
      continue;
    }
    const planMatch = PLAN.exec(line);
    if (planMatch) {
      plan = Number(planMatch[1]);
      continue;
    }
    const m = POINT.exec(line);
    if (!m) continue;
    const directive = (m[4] ?? '').trim();
    const skipped = /^(skip|todo)\b/i.test(directive);
    points.push({
      n: m[2] === undefined ? points.length + 1 : Number(m[2]),
      status: skipped ? 'skip' : m[1] === 'ok' ? 'pass' : 'fail',
      description: (m[3] || (skipped ? directive : '')).trim(),
      detail: '',
    });
  }
  return { points, plan, errors };
}

/** The `"error"` values of a YAML/JSON diagnostic block. */
function errorsOf(body) {
  try {
    const v = JSON.parse(body);
    if (v && typeof v === 'object' && 'error' in v) return [String(v.error)];
    return [];
  } catch {
    const m = /^\s*"?error"?\s*:\s*(.*)$/m.exec(body);
    return m ? [m[1]] : [];
  }
}

/**
 * Scores one program: its points plus, when it ended abnormally, the point that says so.
 * @param {Tap} tap
 * @param {Ending} ending
 * @param {Kind} [kind]
 * @returns {Point[]}
 */
export function scoreProgram(tap, ending, kind = {}) {
  if (tap.points.length === 0) {
    // These programs report only through their exit status and an error diagnostic
    // (process_rlimits_fail prints nothing at all when it passes).
    const silent = kind.printsRuntimetest ? 'runtimetest printed no TAP: the container\'s process did not run' : null;
    const why = endReason(ending) ?? (tap.errors.length ? tap.errors[0].split('\n')[0] : silent);
    return [{ n: null, status: why ? 'fail' : 'pass', description: 'program result', detail: why ?? '' }];
  }
  const abnormal = endReason(ending) ?? planReason(tap);
  if (!abnormal) return tap.points;
  return [...tap.points, { n: null, status: 'fail', description: 'program ended abnormally', detail: abnormal }];
}

/** @param {Ending} ending @returns {string | null} */
function endReason(ending) {
  if (ending.timedOut) return 'timed out (killed)';
  if (ending.signal) return `killed by ${ending.signal}`;
  if (ending.code !== 0) return `exit status ${ending.code}`;
  return null;
}

/** @param {Tap} tap @returns {string | null} */
function planReason(tap) {
  if (tap.plan === null) return 'no TAP plan';
  if (tap.points.length < tap.plan) return `${tap.points.length} points of a plan of ${tap.plan}`;
  return null;
}

/** @param {Point[]} points */
export function countPoints(points) {
  const c = { passed: 0, failed: 0, skipped: 0 };
  for (const p of points) {
    if (p.status === 'pass') c.passed++;
    else if (p.status === 'fail') c.failed++;
    else c.skipped++;
  }
  return c;
}
