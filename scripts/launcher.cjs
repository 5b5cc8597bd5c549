#!/usr/bin/env node
'use strict';
// The CLI's entry (dist/tsrun.cjs, written by scripts/bundle.mjs): a V8 code
// cache for the bundle's files, then the CLI itself (tsrun-main.cjs).
// Node 20 has no compile cache of its own (module.enableCompileCache is 22+),
// and compiling the bundle's code is a good part of each command's start-up:
// parsing the files, then each function the first time it runs. The cache of a
// file is V8's code for the functions that ran, written once per command at the
// exit of the first process of that command that loaded the file without one.
// It lives in dist/compile-cache/ (made empty by each build) and is used only
// when that directory belongs to root or to this user and nobody else may write
// to it: its contents become code this process runs. Anyone else (a user
// running a root-installed tsrun) reads it and never writes.
const fs = require('node:fs');
const Module = require('node:module');
const { Script } = require('node:vm');

const CACHE_DIR = __dirname + '/compile-cache';

/** The cache directory, when its owner is root or this user and only the owner may write to it. */
function cacheDir() {
  try {
    const st = fs.statSync(CACHE_DIR);
    return st.isDirectory() && (st.uid === 0 || st.uid === process.geteuid()) && (st.mode & 0o022) === 0 ? st : undefined;
  } catch {
    return undefined;
  }
}

/** The mount namespace and root of this thread: the cache is written only where it was read. */
function place() {
  const root = fs.statSync('/');
  return `${fs.readlinkSync('/proc/thread-self/ns/mnt')} ${root.dev}:${root.ino}`;
}

/**
 * The command (`run`, `state`, …): each gets its own cache of a file, holding
 * the functions it ran, so which command ran first does not matter.
 * Global flags that take a value are skipped, as src/cli/main.ts does.
 */
function commandName(argv) {
  for (let i = 0; i < argv.length; i++) {
    if (!argv[i].startsWith('-')) return /^[a-z][a-z-]{0,20}$/.test(argv[i]) ? argv[i] : 'other';
    if (/^--?(root|log|log-format)$/.test(argv[i])) i++;
  }
  return 'none';
}

const dir = cacheDir();
if (dir) {
  const command = commandName(process.argv.slice(2));
  const own = __dirname + '/';
  const compile = Module.prototype._compile;
  /** Only the directory's owner writes to it. */
  let writer = process.geteuid() === dir.uid;
  /** [cache file, script] of each file compiled without a usable cache */
  const missing = [];
  let startPlace;
  Module.prototype._compile = function (content, filename) {
    if (!filename.startsWith(own) || !filename.endsWith('.cjs') || filename.includes('/', own.length)) return compile.call(this, content, filename);
    // The name, size and mtime name the cache (a rebuilt or edited file gets a new one), and the command.
    const st = fs.statSync(filename);
    const cacheFile = `${CACHE_DIR}/${filename.slice(own.length)}.${st.size}.${Math.floor(st.mtimeMs)}.${command}`;
    let cachedData;
    try {
      cachedData = fs.readFileSync(cacheFile);
    } catch {
      // not cached yet
    }
    // The wrapper Node puts around a CommonJS module, on the first line so line numbers stay.
    const body = content.startsWith('#!') ? '//' + content : content;
    const script = new Script(`(function (exports, require, module, __filename, __dirname) { ${body}\n})`, { filename, cachedData });
    if (writer && (cachedData === undefined || script.cachedDataRejected)) {
      try {
        startPlace ??= place();
        missing.push([cacheFile, script]);
      } catch {
        writer = false; // no /proc: no way to tell where the exit will be
      }
    }
    const mod = this;
    const req = (id) => mod.require(id);
    req.resolve = (request, options) => Module._resolveFilename(request, mod, false, options);
    req.main = require.main;
    req.cache = Module._cache;
    req.extensions = Module._extensions;
    return script.runInThisContext().call(mod.exports, mod.exports, req, mod, filename, __dirname);
  };
  process.on('exit', () => {
    if (!writer || missing.length === 0) return;
    try {
      // The CLI's main thread visits containers' mount namespaces; it writes only back home.
      if (place() !== startPlace) return;
    } catch {
      return;
    }
    for (const [file, script] of missing) {
      const tmp = `${file}.${process.pid}.tmp`;
      try {
        fs.writeFileSync(tmp, script.createCachedData(), { mode: 0o644 });
        fs.renameSync(tmp, file);
      } catch {
        // a cache is an optimisation: the next process compiles again
        fs.rmSync(tmp, { force: true });
      }
    }
  });
}

require('./tsrun-main.cjs');
