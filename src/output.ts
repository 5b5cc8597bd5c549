import { writeSync } from 'node:fs';

// The CLI's stdout and stderr lines, written straight to fds 1 and 2.
// process.stdout/stderr are streams: the first touch loads Node's stream
// machinery, ≈3 ms of a 25 ms start-up, for lines a write(2) can carry.

const EAGAIN_WAIT = new Int32Array(new SharedArrayBuffer(4));

/** Writes all of `text` to `fd`, synchronously (a non-blocking pipe that is full is waited on). */
export function writeAll(fd: number, text: string): void {
  const buf = Buffer.from(text);
  for (let off = 0; off < buf.length; ) {
    try {
      off += writeSync(fd, buf, off);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      Atomics.wait(EAGAIN_WAIT, 0, 0, 1);
    }
  }
}

export const writeOut = (text: string): void => writeAll(1, text);
export const writeErr = (text: string): void => writeAll(2, text);
