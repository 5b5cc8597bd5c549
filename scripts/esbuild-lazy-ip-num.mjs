// An esbuild plugin for every bundle that holds ip-num (the CLI, the CNI
// plugin entry, the installed plugins). ip-num computes its constant ranges
// when it is loaded — IPv4.PRIVATE_RANGES, IPv6.LOOPBACK_RANGE and eleven
// more, each parsed from text with its validating regexes: ≈ 9 ms of the
// ≈ 10 ms ip-num costs every `run --net`, `hook cni` and plugin exec, for
// values tsrun reads on none of those paths. The plugin makes each of those
// static properties a getter that computes it on first read and then keeps it:
// the same values, when (and if) they are asked for. The build fails if
// ip-num no longer has them in the form expected, rather than silently
// bundling the slow load again.
import { readFileSync } from 'node:fs';

const STATIC_RANGE = /^(IPv4|IPv6)\.([A-Z_]+) = ([\s\S]*?);$/gm;

const LAZY = `
function __tsrunLazyStatic(owner, key, compute) {
  Object.defineProperty(owner, key, {
    configurable: true,
    enumerable: true,
    get() {
      const value = compute();
      Object.defineProperty(owner, key, { value, writable: true, configurable: true, enumerable: true });
      return value;
    },
  });
}
`;

export const lazyIpNum = {
  name: 'lazy-ip-num',
  setup(b) {
    b.onLoad({ filter: /[\\/]ip-num[\\/]dist[\\/]src[\\/]IPNumber\.js$/ }, (args) => {
      let count = 0;
      const text = readFileSync(args.path, 'utf8').replace(STATIC_RANGE, (_all, owner, key, expr) => {
        count++;
        return `__tsrunLazyStatic(${owner}, ${JSON.stringify(key)}, () => (${expr}));`;
      });
      if (count < 10) throw new Error(`lazy-ip-num: expected ip-num's constant ranges in ${args.path}, found ${count}: check the plugin against this ip-num version`);
      return { contents: text + LAZY, loader: 'js' };
    });
  },
};
