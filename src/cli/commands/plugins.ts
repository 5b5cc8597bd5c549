import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TsrunError } from '../../errors.js';
import { DEFAULT_CNI_BIN_DIR, installPlugins } from '../../network/plugins/install/install.js';
import { bool } from '../args.js';
import type { Command } from '../command.js';

// tsrun plugins install [DIR] [--list] [--force]: the built-in CNI plugins as
// standalone executables in a CNI bin directory (default /opt/cni/bin).

/** dist/cni-plugin.cjs: next to the CLI bundle, or two levels up from dist/cli/commands. */
function bundlePath(): string {
  const candidates = ['./cni-plugin.cjs', '../../cni-plugin.cjs'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  return candidates.find((p) => existsSync(p)) ?? candidates[0]!;
}

export const command: Command = {
  args: 'install [DIR]',
  flags: [
    { name: 'list', help: 'show what is installed in DIR, install nothing' },
    { name: 'force', help: 'replace a file of a plugin\'s name that has other content' },
  ],
  notes: ['DIR defaults to /opt/cni/bin.'],
  async run(p, _g, usage) {
    const [sub, dir, extra] = p.positionals;
    if (sub !== 'install' || extra !== undefined) throw new TsrunError('BAD_INPUT', `plugins: expected "install [DIR]"`, { hint: `usage: ${usage}` });
    const files = installPlugins({
      dir: resolve(dir ?? DEFAULT_CNI_BIN_DIR),
      bundlePath: bundlePath(),
      node: process.execPath,
      force: bool(p, 'force'),
      dryRun: bool(p, 'list'),
    });
    const list = bool(p, 'list');
    for (const f of files) {
      const what = list ? { absent: 'not installed', same: 'installed, up to date', different: 'a different file (install --force replaces it)' }[f.state] : f.state === 'same' ? 'unchanged' : 'installed';
      process.stdout.write(`${f.type.padEnd(11)} ${f.path}  ${what}\n`);
    }
    return 0;
  },
};
