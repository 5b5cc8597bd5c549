import type { Syscalls } from '../sys/syscalls.js';

// A network namespace the runtime creates starts with `lo` down. runc and
// crun bring it up (podman's --network none relies on it): SIOCGIFFLAGS, set
// IFF_UP, SIOCSIFFLAGS on a throwaway datagram socket inside the namespace.

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const SIOCGIFFLAGS = 0x8913;
const SIOCSIFFLAGS = 0x8914;
const IFF_UP = 0x1;
const IFREQ_SIZE = 40; // struct ifreq: char ifr_name[16], then a union (short ifr_flags first)

export function loopbackUp(sys: Syscalls): void {
  const fd = sys.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  try {
    const req = Buffer.alloc(IFREQ_SIZE);
    req.write('lo', 0, 'latin1');
    sys.ioctl(fd, SIOCGIFFLAGS, req);
    const flags = req.readUInt16LE(16);
    if (flags & IFF_UP) return;
    req.writeUInt16LE(flags | IFF_UP, 16);
    sys.ioctl(fd, SIOCSIFFLAGS, req);
  } finally {
    sys.close(fd);
  }
}
