// The project's list of accepted conformance failures (accepted.json, explained in
// docs/conformance.md). Each entry names a program and, optionally, the points it
// covers (by number or by description), with the class and cause of the failure.
// Nothing is accepted without a cause; a failure no entry covers fails the run.
import { readFileSync } from 'node:fs';

/**
 * @typedef {{ program: string, points?: number[], description?: string, class: string, cause: string }} Entry
 * @typedef {{ classes: Record<string, string>, accepted: Entry[] }} AcceptedList
 * @typedef {import('./tap.mjs').Point} Point
 */

/**
 * Loads and checks the list; errors name the file and the JSON path.
 * @param {string} file
 * @param {string[]} programs every program's name, to catch typos
 * @returns {AcceptedList}
 */
export function loadAccepted(file, programs) {
  let data;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: ${err.message}`);
  }
  return checkAccepted(data, file, programs);
}

/**
 * @param {unknown} data
 * @param {string} file
 * @param {string[]} programs
 * @returns {AcceptedList}
 */
export function checkAccepted(data, file, programs) {
  const bad = (path, what) => new Error(`${file}: ${path}: ${what}`);
  if (!data || typeof data !== 'object') throw bad('(root)', 'expected an object');
  const { classes, accepted } = /** @type {any} */ (data);
  if (!classes || typeof classes !== 'object') throw bad('classes', 'expected an object of class → meaning');
  for (const [k, v] of Object.entries(classes)) {
    if (typeof v !== 'string' || v.trim() === '') throw bad(`classes.${k}`, 'expected a non-empty explanation');
  }
  if (!Array.isArray(accepted)) throw bad('accepted', 'expected an array');
  accepted.forEach((e, i) => {
    const at = `accepted[${i}]`;
    if (!e || typeof e !== 'object') throw bad(at, 'expected an object');
    if (typeof e.program !== 'string' || !programs.includes(e.program)) {
      throw bad(`${at}.program`, `expected one of the suite's programs, got ${JSON.stringify(e.program)}`);
    }
    if (e.points !== undefined && (!Array.isArray(e.points) || e.points.length === 0 || !e.points.every((n) => Number.isInteger(n) && n > 0))) {
      throw bad(`${at}.points`, 'expected a non-empty array of point numbers');
    }
    if (e.description !== undefined && (typeof e.description !== 'string' || e.description === '')) {
      throw bad(`${at}.description`, 'expected a point description');
    }
    if (e.points !== undefined && e.description !== undefined) throw bad(at, 'give points or description, not both');
    if (typeof e.class !== 'string' || !(e.class in classes)) {
      throw bad(`${at}.class`, `expected one of ${Object.keys(classes).join(', ')}, got ${JSON.stringify(e.class)}`);
    }
    if (typeof e.cause !== 'string' || e.cause.trim() === '') throw bad(`${at}.cause`, 'every accepted failure needs its cause');
  });
  return /** @type {AcceptedList} */ (data);
}

/**
 * Does this entry cover this point of this program?
 * @param {Entry} e
 * @param {string} program
 * @param {Point} p
 */
export function covers(e, program, p) {
  if (e.program !== program) return false;
  if (e.points) return p.n !== null && e.points.includes(p.n);
  if (e.description !== undefined) return p.description === e.description;
  return true;
}

/**
 * Splits one program's failed points into accepted (with their entry) and not,
 * and finds the entries for this program that covered no failure (now passing).
 * @param {AcceptedList} list
 * @param {string} program
 * @param {Point[]} points
 */
export function judge(list, program, points) {
  const entries = list.accepted.filter((e) => e.program === program);
  /** @type {{ point: Point, entry: Entry }[]} */
  const accepted = [];
  /** @type {Point[]} */
  const unexpected = [];
  const used = new Set();
  for (const p of points) {
    if (p.status !== 'fail') continue;
    const entry = entries.find((e) => covers(e, program, p));
    if (entry) {
      accepted.push({ point: p, entry });
      used.add(entry);
    } else {
      unexpected.push(p);
    }
  }
  const nowPassing = entries.filter((e) => !used.has(e));
  return { accepted, unexpected, nowPassing };
}
