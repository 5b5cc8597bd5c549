// Makes the CLI entries executable after tsc and esbuild (neither keeps modes).
import { chmodSync, existsSync } from 'node:fs';
for (const f of ['dist/tsrun.js', 'dist/cli/main.js']) if (existsSync(f)) chmodSync(f, 0o755);
