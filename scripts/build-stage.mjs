// Compiles the user-namespace stage (src/runtime/process/userns-stage.c) next
// to both places the init can be loaded from. Without a C compiler, tsrun
// still builds; only configs with a user namespace are refused, clearly.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';

const out = 'dist/runtime/process/userns-stage';
mkdirSync('dist/runtime/process', { recursive: true });
try {
  execFileSync('cc', ['-O2', '-Wall', '-Wextra', '-o', out, 'src/runtime/process/userns-stage.c'], { stdio: 'inherit' });
  copyFileSync(out, 'dist/userns-stage');
} catch (err) {
  console.warn(`build-stage: no user namespace stage (${err.message}); containers with a user namespace will be refused`);
}
