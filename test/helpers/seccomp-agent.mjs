// A seccomp agent for the tests (runtime-spec runtime.md, "Seccomp listener"),
// through tsrun's own kernel door (dist/). Usage: node seccomp-agent.mjs SOCKET OUTDIR ERRNO
// Takes one connection on SOCKET: writes the container process state it got to
// OUTDIR/state.json (with "receivedFds", the number of fds attached), then
// answers each notification on the listener fd: mkdir/mkdirat fail with ERRNO,
// anything else goes on as the kernel would run it. One line per notification
// goes to OUTDIR/notifications ("NR"). Exits when the container is gone
// (SECCOMP_IOCTL_NOTIF_RECV fails with ENOENT).
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KoffiSyscalls } from '../../dist/sys/koffi.js';
import { AF_UNIX, SOCK_CLOEXEC, SOCK_STREAM, sockaddrUn } from '../../dist/runtime/terminal.js';

const [socketPath, outDir, errnoArg] = process.argv.slice(2);
const replyErrno = Number(errnoArg);
const sys = new KoffiSyscalls();

// _IOWR('!', 0, struct seccomp_notif) and _IOWR('!', 1, struct seccomp_notif_resp), x86_64 sizes 80 and 24.
const NOTIF_RECV = 0xc0502100;
const NOTIF_SEND = 0xc0182101;
const USER_NOTIF_FLAG_CONTINUE = 1;
const MKDIR = new Set([83, 258]);

const server = sys.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
sys.bind(server, sockaddrUn(socketPath));
sys.listen(server, 4);
process.stdout.write('listening\n');
const conn = sys.accept(server);
// One message, read until its JSON is whole (a runtime may keep the connection open).
let text = '';
let state;
const fds = [];
while (state === undefined) {
  const got = sys.recvmsgFds(conn, 65536, 4);
  fds.push(...got.fds);
  if (got.data.length === 0) process.exit(3);
  text += got.data.toString('utf8');
  try {
    state = JSON.parse(text);
  } catch {
    // more to come
  }
}
sys.close(conn);
sys.close(server);
writeFileSync(join(outDir, 'state.json'), JSON.stringify({ ...state, receivedFds: fds.length }));
const listener = fds[0];
if (listener === undefined) process.exit(2);

for (;;) {
  const req = Buffer.alloc(80);
  try {
    sys.ioctl(listener, NOTIF_RECV, req);
  } catch (err) {
    if (err.errno === 'EINTR') continue;
    break; // ENOENT: no process uses the filter any more
  }
  const id = req.readBigUInt64LE(0);
  const nr = req.readInt32LE(16);
  appendFileSync(join(outDir, 'notifications'), `${nr}\n`);
  const resp = Buffer.alloc(24);
  resp.writeBigUInt64LE(id, 0);
  if (MKDIR.has(nr)) resp.writeInt32LE(-replyErrno, 16);
  else resp.writeUInt32LE(USER_NOTIF_FLAG_CONTINUE, 20);
  try {
    sys.ioctl(listener, NOTIF_SEND, resp);
  } catch {
    // the process was killed while it waited
  }
}
