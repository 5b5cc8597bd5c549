// After tsc and bundle.mjs:
// - makes dist/cni-plugin-main.js executable and links each built-in plugin
//   name to it (dist/cni/bridge → ../cni-plugin-main.js), so dist/cni can go on
//   any CNI client's CNI_PATH from this checkout;
// - builds dist/cni-plugin.cjs, the standalone plugin `tsrun plugins install`
//   writes out: CommonJS (an extensionless file outside any package runs as
//   CommonJS), koffi's prebuilt addon for this arch inside it, and the
//   runtime's koffi-loader swapped for one that loads that embedded copy
//   (or dist/cni-plugin-koffi.node, the same bytes, installed beside it).
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';

const root = new URL('../', import.meta.url).pathname;
const dist = join(root, 'dist');
const { BUILTIN_TYPES } = await import(join(dist, 'network/plugins/registry.js'));
chmodSync(join(dist, 'cni-plugin-main.js'), 0o755);
mkdirSync(join(dist, 'cni'), { recursive: true });
for (const name of BUILTIN_TYPES()) {
  const link = join(dist, 'cni', name);
  rmSync(link, { force: true });
  symlinkSync('../cni-plugin-main.js', link);
}

const require = createRequire(import.meta.url);
const pkg = require.resolve(`@koromix/koffi-linux-${process.arch}/package.json`);
const addon = readFileSync(join(dirname(pkg), `linux_${process.arch}`, 'koffi.node'));
writeFileSync(join(dist, 'cni-plugin-koffi.node'), addon); // installed beside the plugins
const embedded = {
  gzBase64: gzipSync(addon, { level: 9 }).toString('base64'),
  sha256: createHash('sha256').update(addon).digest('hex'),
  size: addon.length,
  arch: process.arch,
};
const swapKoffiLoader = {
  name: 'embedded-koffi',
  setup(b) {
    b.onResolve({ filter: /\/koffi-loader\.js$/ }, () => ({ path: join(root, 'src/network/plugins/install/embedded-koffi.ts') }));
  },
};
await build({
  entryPoints: [join(root, 'src/cni-plugin-main.ts')],
  outfile: join(dist, 'cni-plugin.cjs'),
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  define: { TSRUN_KOFFI_ADDON: JSON.stringify(embedded) },
  plugins: [swapKoffiLoader],
  logLevel: 'warning',
});
