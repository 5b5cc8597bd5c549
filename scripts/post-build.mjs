// Makes the CLI entry executable after tsc (tsc does not keep modes).
import { chmodSync, existsSync } from 'node:fs';
for (const f of ['dist/cli/main.js']) if (existsSync(f)) chmodSync(f, 0o755);
