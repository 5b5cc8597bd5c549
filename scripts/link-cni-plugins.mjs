// After tsc and bundle.mjs:
// - makes dist/cni-plugin-main.js executable and links each built-in plugin
//   name to it (dist/cni/bridge → ../cni-plugin-main.js), so dist/cni can go on
//   any CNI client's CNI_PATH from this checkout;
// - builds dist/cni-plugin.cjs, the standalone plugin `tsrun plugins install`
//   writes out: CommonJS (an extensionless file outside any package runs as
//   CommonJS), koffi's prebuilt addon for this arch inside it, and the
//   runtime's koffi-loader swapped for one that loads that embedded copy
//   (or dist/cni-plugin-koffi.node, the same bytes, installed beside it), and
//   the 0.1/0.2 result converter compiled only when used.
import { build } from 'esbuild';
import { lazyIpNum } from './esbuild-lazy-ip-num.mjs';
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
// The result converter for 0.1/0.2 results (zod inside: 800 KB that every
// plugin exec would parse, ≈ half its start-up) goes in as a string, compiled
// on the first call only.
const converter = await build({
  entryPoints: [join(root, 'src/network/cni/result/convert.ts')],
  bundle: true, format: 'cjs', platform: 'node', target: 'node20', write: false, logLevel: 'warning',
});
const lazyConverter = {
  name: 'lazy-converter',
  setup(b) {
    b.onResolve({ filter: /\/cni\/result\/convert\.js$/ }, () => ({ path: 'lazy-converter', namespace: 'tsrun' }));
    b.onLoad({ filter: /^lazy-converter$/, namespace: 'tsrun' }, () => ({
      loader: 'js',
      contents: [
        'let loaded;',
        'const load = () => {',
        '  if (!loaded) { const m = { exports: {} }; new Function("module", "exports", "require", SOURCE)(m, m.exports, require); loaded = m.exports; }',
        '  return loaded;',
        '};',
        'export const convertResult = (...a) => load().convertResult(...a);',
        'export const parseResult = (...a) => load().parseResult(...a);',
      ].join('\n').replace('SOURCE', () => JSON.stringify(converter.outputFiles[0].text)), // a function: the text holds $ patterns
    }));
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
  plugins: [swapKoffiLoader, lazyConverter, lazyIpNum],
  logLevel: 'warning',
});
