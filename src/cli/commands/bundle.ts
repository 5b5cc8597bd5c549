import { TsrunError } from '../../errors.js';
import { importBundle } from '../../image/import.js';
import { realSyscalls } from '../../sys/index.js';
import { expectArgs } from '../args.js';
import type { Command } from '../command.js';

// tsrun bundle import SOURCE[:TAG] BUNDLE-DIR: an OCI image layout or a
// docker/podman-save archive becomes a bundle that `tsrun run` can start.

export const command: Command = {
  args: 'import <oci-layout-dir|docker-archive.tar>[:TAG] BUNDLE-DIR',
  flags: [],
  async run(p, _g, usage) {
    const [sub, ...rest] = p.positionals;
    if (sub !== 'import') throw new TsrunError('BAD_INPUT', `bundle: unknown subcommand "${sub ?? ''}"`, { hint: `usage: ${usage}` });
    const [source, bundleDir] = expectArgs({ flags: p.flags, positionals: rest }, ['SOURCE', 'BUNDLE-DIR'], usage) as [string, string];
    const result = await importBundle({ source, bundleDir, sys: await realSyscalls() });
    for (const w of result.warnings) process.stderr.write(`tsrun: warning: ${w}\n`);
    const what = result.ref ? `${result.ref} ` : '';
    process.stdout.write(`imported ${what}(${result.layers} layer${result.layers === 1 ? '' : 's'}) into ${result.bundleDir}\n`);
    return 0;
  },
};
