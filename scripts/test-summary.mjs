// Prints the suite's counts as one plain closing line ("tests: N passed, N failed,
// N skipped") from vitest's JSON report, so any CI can read the result.
import { readFileSync } from 'node:fs';

const file = process.argv[2];
try {
  const r = JSON.parse(readFileSync(file, 'utf8'));
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
} catch (err) {
  console.log(`tests: no report at ${file} (${err.message})`);
  process.exitCode = 1;
}
