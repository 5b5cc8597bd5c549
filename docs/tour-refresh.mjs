// Runs the tour (docs/tour.sh, as root) and pastes the output of its two
// `net show` blocks into docs/tour.md, where tour.test.ts compares them.
// For when net show's output changes on purpose:  node docs/tour-refresh.mjs
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const docs = dirname(new URL(import.meta.url).pathname);
const page = join(docs, 'tour.md');
const run = spawnSync('bash', [join(docs, 'tour.sh')], { encoding: 'utf8', env: { ...process.env, TOUR: '/tmp/tour' } });
if (run.status !== 0) {
  process.stderr.write(`${run.stdout}${run.stderr}tour-refresh: the tour failed; docs/tour.md is unchanged\n`);
  process.exit(1);
}
const parts = run.stdout.split(/^── tour block (\d+) ──\n/m);
const outputs = new Map();
for (let i = 1; i < parts.length; i += 2) outputs.set(Number(parts[i]), parts[i + 1]);

let text = readFileSync(page, 'utf8');
/** Number of the sh block whose commands include `command`. */
const blockOf = (command) => text.split('```sh\n').slice(1).findIndex((b) => b.slice(0, b.indexOf('```')).includes(command)) + 1;
for (const [marker, command] of [['tour:net-show-text', 'net show tour1\n'], ['tour:net-show-mermaid', 'net show tour1 --format mermaid']]) {
  const out = outputs.get(blockOf(command));
  if (!out) throw new Error(`no output for the block running "${command}"`);
  text = text.replace(new RegExp(`(<!-- ${marker} -->\\n\`\`\`\\w+\\n)[\\s\\S]*?(\`\`\`\\n)`), (_, open, close) => open + out + close);
}
writeFileSync(page, text);
process.stdout.write('tour-refresh: docs/tour.md updated\n');
