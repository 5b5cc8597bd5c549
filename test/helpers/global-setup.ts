// Runs once before the suite. Integration tests need the compiled CLI and the
// example rootfs; `npm test` builds both (scripts/setup.sh) before vitest starts.
import { existsSync } from 'node:fs';

export default function setup(): void {
  for (const f of ['dist/cli/main.js', 'bundles/busybox/rootfs/bin/busybox']) {
    if (!existsSync(f)) throw new Error(`${f} is missing: run "npm test" (it builds), or scripts/setup.sh`);
  }
}
