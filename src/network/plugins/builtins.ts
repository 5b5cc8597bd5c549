// The built-in plugins and their real deps, in one module that the CLI's
// bundle loads lazily as one file. A chain runs several plugins in one
// process: loaded one by one, each would bring its own copy of what they
// share (ip-num, netlink, the iptables helpers: ≈ 170 KB a plugin), to be
// read and compiled again. Their own code is ≈ 40 KB together.
export { bridge } from './bridge.js';
export { firewall } from './firewall/index.js';
export { hostLocal } from './host-local/index.js';
export { loopback } from './loopback.js';
export { portmap } from './portmap/index.js';
export { ptp } from './ptp.js';
export { realDeps } from './deps.js';
