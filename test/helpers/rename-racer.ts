import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './bundle.js';

/**
 * A process that swaps `a` and `b` with renameat2(RENAME_EXCHANGE), non-stop:
 * the attack tests' racer (a directory and a symlink out of the rootfs trade
 * places while tsrun resolves paths). Resolves once it is swapping; the caller
 * kills it by pid.
 */
export async function startRenameRacer(scratchDir: string, a: string, b: string): Promise<ChildProcess> {
  const script = join(scratchDir, 'racer.mjs');
  writeFileSync(
    script,
    [
      `import { createRequire } from 'node:module';`,
      `const koffi = createRequire(${JSON.stringify(join(REPO, 'package.json'))})('koffi');`,
      `const renameat2 = koffi.load('libc.so.6').func('int renameat2(int, const char *, int, const char *, unsigned int)');`,
      `const [a, b] = process.argv.slice(2);`,
      `process.stdout.write('ready\\n');`,
      `for (;;) renameat2(-100, a, -100, b, 2);`,
    ].join('\n'),
  );
  const child = spawn(process.execPath, [script, a, b], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((res) => child.stdout!.once('data', res));
  return child;
}
