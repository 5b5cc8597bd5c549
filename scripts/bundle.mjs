// Bundles the CLI and the init into a few files under dist/ (after tsc has
// type-checked and emitted the library). Start-up time is a product feature:
// - fewer, larger modules load faster than ~70 small ones;
// - CommonJS, not ESM: an ES module entry makes Node start its ESM loader and
//   build a facade per built-in module (`import 'node:fs'` alone loads the
//   streams), ≈ 5 ms of a 25 ms boot. The package is `"type": "module"`, so
//   the files are `.cjs`, and `dist/tsrun.js` (the `bin`) is a link to
//   `tsrun.cjs`: Node picks the format of the main module by its real path.
// The CLI keeps its commands in lazily loaded chunks: esbuild splits only ESM,
// so it is built as ESM into a temp dir, then each file is turned into
// CommonJS, `import()` becoming `require()`.
import { build, transform } from 'esbuild';
import { lazyIpNum } from './esbuild-lazy-ip-num.mjs';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

for (const f of readdirSync('dist')) if (/^(chunk-.*|tsrun|tsrun-main|init-main)\.c?js$/.test(f)) rmSync(`dist/${f}`);
// The V8 code cache of the CLI's files (see scripts/launcher.cjs): emptied by every build.
rmSync('dist/compile-cache', { recursive: true, force: true });

// The spec schemas (src/spec/) use zod/mini: tree-shaken, ≈ 60 KB of zod. In a
// chunk shared with a module using full zod, the chunk keeps what either one
// uses (≈ 700 KB: every locale, JSON Schema, ...), so src/spec/ gets a copy of
// its own, loaded from a separate esbuild namespace. The CNI client's conf and
// result schemas (src/network/cni/) share that copy.
const ZOD_MINI = fileURLToPath(import.meta.resolve('zod/mini'));
const specZod = {
  name: 'spec-zod',
  setup(b) {
    b.onResolve({ filter: /^zod\/mini$/ }, (a) => (/\/src\/(spec|network\/cni)\//.test(a.importer) ? { path: ZOD_MINI, namespace: 'spec-zod', sideEffects: false } : undefined));
    b.onResolve({ filter: /^\./, namespace: 'spec-zod' }, (a) => ({ path: resolve(dirname(a.importer), a.path), namespace: 'spec-zod', sideEffects: false }));
    b.onLoad({ filter: /.*/, namespace: 'spec-zod' }, (a) => ({ contents: readFileSync(a.path, 'utf8'), loader: 'js', resolveDir: dirname(a.path) }));
  },
};

const common = {
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // koffi finds its native addon through require.resolve at run time.
  external: ['koffi'],
  plugins: [specZod, lazyIpNum],
  logLevel: 'warning',
};

/** ESM → CommonJS, one file; `import.meta.url` becomes this file's URL. */
async function toCommonJs(code) {
  const usesUrl = code.includes('import.meta.url');
  const out = await transform(code, {
    loader: 'js',
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    // import() of a chunk would start the ESM loader: require() it instead.
    supported: { 'dynamic-import': false },
    define: usesUrl ? { 'import.meta.url': '__tsrunModuleUrl' } : {},
    banner: usesUrl ? 'var __tsrunModuleUrl = require("node:url").pathToFileURL(__filename).href;' : '',
    logLevel: 'warning',
  });
  return out.code;
}

// Each file a process loads costs ≈ 0.3 ms at start-up (resolve, read, compile,
// in a module loader that is not warmed up yet), more than the bytes in it. So
// every file that is loaded first (the CLI entry, and each chunk it imports
// lazily: a command, the spec schemas, …) carries copies of the chunks it
// requires at once. Each copy registers itself in require.cache under its own
// chunk's file name before it runs, so a module is still evaluated once, and
// a later require() of that chunk, from anywhere, gets the same instance.
// Chunks are required by "./chunk-….cjs" from files in the same directory:
// one found in require.cache needs no path resolution (stat, realpath).
const PRELOAD = `var __tsrunCache = require.cache;
var __tsrunRequire = (fallback) => (id) => {
  const cached = id.startsWith("./chunk-") ? __tsrunCache[__dirname + id.slice(1)] : undefined;
  return cached ? cached.exports : fallback(id);
};
var __tsrunPreload = (name, factory) => {
  const filename = __dirname + "/" + name;
  if (__tsrunCache[filename]) return;
  const m = new module.constructor(filename, module);
  m.filename = filename;
  m.paths = module.paths;
  __tsrunCache[filename] = m;
  factory(m.exports, __tsrunRequire((id) => m.require(id)), m, filename, __dirname);
  m.loaded = true;
};
require = __tsrunRequire(require);
`;

/** `code` with the chunks in `deps` (evaluation order) run first, from copies inside it. */
function withPreloads(code, deps, codeOf) {
  if (deps.length === 0) return code;
  const hashbang = code.startsWith('#!') ? code.slice(0, code.indexOf('\n') + 1) : '';
  const preloads = deps.map((d) => `__tsrunPreload(${JSON.stringify(d)}, (function (exports, require, module, __filename, __dirname) {\n${codeOf(d)}\n}));\n`);
  return hashbang + PRELOAD + preloads.join('') + code.slice(hashbang.length);
}

/** Static and dynamic (import()) imports of each output file, and the files loaded lazily, by base name. */
function importGraph(metafile) {
  const base = (p) => p.slice(p.lastIndexOf('/') + 1);
  const statics = new Map();
  const dynamics = new Map();
  for (const [file, out] of Object.entries(metafile.outputs)) {
    const of = (kind) => out.imports.filter((i) => i.kind === kind && !i.external).map((i) => base(i.path));
    statics.set(base(file), of('import-statement'));
    dynamics.set(base(file), of('dynamic-import'));
  }
  return { statics, dynamics, lazy: new Set([...dynamics.values()].flat()) };
}

/**
 * For each file, the files surely loaded whenever it is: the intersection,
 * over every way it can be loaded, of what is loaded by then. Required by G:
 * what is sure for G. Imported lazily by G: G, G's static imports and what is
 * sure for G. (A fixed point from "everything", entries from "nothing".) A
 * lazy chunk needs no copies of these: the stage's set-up code, imported
 * lazily by create, carried copies of what create's own chunk had loaded
 * (≈ 27 KB, read and compiled again by every create and run).
 */
function surelyLoaded(files, statics, dynamics, entries) {
  const sure = new Map(files.map((f) => [f, new Set(entries.includes(f) ? [] : files)]));
  const loaders = new Map(files.map((f) => [f, []]));
  for (const g of files) {
    for (const f of statics.get(g) ?? []) loaders.get(f)?.push(() => sure.get(g));
    for (const f of dynamics.get(g) ?? []) loaders.get(f)?.push(() => new Set([...sure.get(g), g, ...eagerDeps(g, statics)]));
  }
  for (let changed = true; changed; ) {
    changed = false;
    for (const f of files) {
      if (entries.includes(f)) continue;
      const ways = loaders.get(f).map((w) => w());
      const now = ways.length === 0 ? new Set() : new Set([...ways[0]].filter((x) => ways.every((w) => w.has(x))));
      if (now.size !== sure.get(f).size) {
        sure.set(f, now);
        changed = true;
      }
    }
  }
  return sure;
}

/** The chunks `file` requires at once, transitively, in evaluation order (dependencies first). */
function eagerDeps(file, statics, skip = new Set()) {
  const order = [];
  const seen = new Set([file, ...skip]);
  const visit = (f) => {
    for (const d of statics.get(f) ?? []) {
      if (seen.has(d)) continue;
      seen.add(d);
      visit(d);
      order.push(d);
    }
  };
  visit(file);
  return order;
}

/** Builds entries as split ESM, then writes them to dist/ as .cjs files; `name.js` links to `name.cjs`. */
async function buildCommonJs(entryPoints, splitting) {
  const tmp = mkdtempSync(join(tmpdir(), 'tsrun-bundle-'));
  try {
    const r = await build({ ...common, entryPoints, outdir: tmp, splitting, chunkNames: 'chunk-[hash]', outExtension: { '.js': '.cjs' }, metafile: true });
    // what each chunk holds, for scripts/load-report.mjs
    writeFileSync(`dist/meta-${Object.keys(entryPoints)[0]}.json`, JSON.stringify(r.metafile));
    const cjs = new Map();
    for (const f of readdirSync(tmp)) {
      let code = await toCommonJs(readFileSync(join(tmp, f), 'utf8'));
      // the hashbang must stay the first line
      if (code.includes('#!/usr/bin/env node')) code = '#!/usr/bin/env node\n' + code.replace(/^#!\/usr\/bin\/env node\n/m, '');
      cjs.set(f, code);
    }
    const { statics, dynamics, lazy } = importGraph(r.metafile);
    const entries = Object.keys(entryPoints).map((name) => `${name}.cjs`);
    // what the entry has loaded before any lazy chunk can be
    const loadedFirst = new Set(entries.flatMap((e) => [e, ...eagerDeps(e, statics)]));
    const sure = surelyLoaded([...cjs.keys()], statics, dynamics, entries);
    for (const [f, code] of cjs) {
      let out = code;
      if (entries.includes(f)) out = withPreloads(code, eagerDeps(f, statics), (d) => cjs.get(d));
      else if (lazy.has(f)) out = withPreloads(code, eagerDeps(f, statics, new Set([...loadedFirst, ...sure.get(f)])), (d) => cjs.get(d));
      writeFileSync(join('dist', f), out);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  for (const name of Object.keys(entryPoints)) {
    rmSync(`dist/${name}.js`, { force: true });
    symlinkSync(`${name}.cjs`, `dist/${name}.js`);
    chmodSync(`dist/${name}.cjs`, 0o755);
  }
}

// The CLI: commands stay lazily loaded, as chunks. Its entry becomes
// tsrun-main.cjs, loaded by scripts/launcher.cjs, which is dist/tsrun.cjs and
// keeps a V8 code cache of the CLI's files in dist/compile-cache/.
await buildCommonJs({ tsrun: 'src/cli/main.ts' }, true);
renameSync('dist/tsrun.cjs', 'dist/tsrun-main.cjs');
copyFileSync('scripts/launcher.cjs', 'dist/tsrun.cjs');
chmodSync('dist/tsrun.cjs', 0o755);
mkdirSync('dist/compile-cache', { mode: 0o755 });
chmodSync('dist/compile-cache', 0o755);
// The init: one file, so its Node boot reads a single module.
await buildCommonJs({ 'init-main': 'src/runtime/process/init-main.ts' }, false);
// The CNI plugins' multi-call executable: one file, since every plugin exec is a Node boot.
await build({ ...common, entryPoints: { 'cni-plugin-main': 'src/cni-plugin-main.ts' }, outdir: 'dist', allowOverwrite: true });
