// Compiles tsrun's two small C programs next to both places the runtime can be
// loaded from (dist/runtime/process/ and the bundle in dist/):
// - stage: every container's process until execve (its pid 1 while it waits
//   for `tsrun start`); static when libc6-dev allows, so it maps almost nothing;
// - userns-stage: makes or joins a user namespace for the Node init.
// Without a C compiler tsrun still builds, and says so when a container needs one.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';

mkdirSync('dist/runtime/process', { recursive: true });

function compile(name, flagSets) {
  const out = `dist/runtime/process/${name}`;
  for (const flags of flagSets) {
    try {
      execFileSync('cc', ['-O2', '-Wall', '-Wextra', ...flags, '-o', out, `src/runtime/process/${name}.c`], { stdio: ['ignore', 'inherit', 'pipe'] });
      copyFileSync(out, `dist/${name}`);
      return;
    } catch (err) {
      if (flags === flagSets.at(-1)) console.warn(`build-stage: no ${name} (${err.message.split('\n')[0]})`);
    }
  }
}

compile('stage', [['-static'], []]);
compile('userns-stage', [[]]);
