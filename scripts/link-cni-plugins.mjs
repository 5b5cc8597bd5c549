// After tsc: makes dist/cni-plugin-main.js executable and links each built-in
// plugin name to it (dist/cni/bridge → ../cni-plugin-main.js), so dist/cni can
// go on any CNI client's CNI_PATH.
import { chmodSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

const dist = new URL('../dist/', import.meta.url).pathname;
const { BUILTIN_TYPES } = await import(join(dist, 'network/plugins/registry.js'));
chmodSync(join(dist, 'cni-plugin-main.js'), 0o755);
mkdirSync(join(dist, 'cni'), { recursive: true });
for (const name of BUILTIN_TYPES()) {
  const link = join(dist, 'cni', name);
  rmSync(link, { force: true });
  symlinkSync('../cni-plugin-main.js', link);
}
