// Syscall cost through koffi: KoffiSyscalls.getpid() (the wrapper tsrun uses)
// against an empty loop and a plain JS call, ns per call. Run in its own Node
// process (`node bench/syscalls.mjs REPO CALLS`) so JIT state is fresh; prints JSON.
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const [repo = process.cwd(), callsArg = '1000000'] = process.argv.slice(2);
const N = Number(callsArg);

const t0 = performance.now();
const { KoffiSyscalls } = await import(pathToFileURL(join(repo, 'dist/sys/koffi.js')).href);
const importMs = performance.now() - t0;
const t1 = performance.now();
const sys = new KoffiSyscalls();
const ctorMs = performance.now() - t1;
// koffi itself loads on the first FFI call (and declares each libc function on its first call)
const t2 = performance.now();
sys.getpid();
const firstCallMs = performance.now() - t2;

function measure(f) {
  f(1000); // warm the JIT
  let best = Infinity;
  const runs = [];
  for (let r = 0; r < 5; r++) {
    const s = process.hrtime.bigint();
    f(N);
    const ns = Number(process.hrtime.bigint() - s) / N;
    runs.push(ns);
    best = Math.min(best, ns);
  }
  runs.sort((a, b) => a - b);
  return { medianNs: +runs[2].toFixed(2), bestNs: +best.toFixed(2) };
}

// The same FFI with no syscall behind it (labs) and with no tsrun wrapper, to split
// the cost into koffi's call overhead and the kernel's.
const koffi = createRequire(join(repo, 'package.json'))('koffi');
const libc = koffi.load('libc.so.6');
const labs = libc.func('long labs(long x)');
const rawGetpid = libc.func('int getpid()');

let sink = 0;
const jsGetpid = () => 42;
const results = {
  emptyLoop: measure((n) => { for (let i = 0; i < n; i++) sink += i & 1; }),
  jsCall: measure((n) => { for (let i = 0; i < n; i++) sink += jsGetpid(); }),
  processPid: measure((n) => { for (let i = 0; i < n; i++) sink += process.pid; }),
  koffiLabs: measure((n) => { for (let i = 0; i < n; i++) sink += labs(-i); }),
  koffiRawGetpid: measure((n) => { for (let i = 0; i < n; i++) sink += rawGetpid(); }),
  koffiGetpid: measure((n) => { for (let i = 0; i < n; i++) sink += sys.getpid(); }),
};
if (sink === -1) console.error(sink);
const d = (a, b) => +(results[a].medianNs - results[b].medianNs).toFixed(2);
console.log(JSON.stringify({
  calls: N,
  importKoffiModuleMs: +importMs.toFixed(2),
  constructMs: +ctorMs.toFixed(3),
  firstCallMs: +firstCallMs.toFixed(2),
  results,
  // ns per call above the empty loop: FFI alone (labs), FFI + getpid syscall, + tsrun's wrapper
  ffiOverheadNs: d('koffiLabs', 'emptyLoop'),
  getpidSyscallNs: d('koffiRawGetpid', 'koffiLabs'),
  wrapperNs: d('koffiGetpid', 'koffiRawGetpid'),
  koffiGetpidNs: d('koffiGetpid', 'emptyLoop'),
}));
