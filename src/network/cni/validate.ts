import { TsrunError } from '../../errors.js';
import type { RuntimeConf } from './invoke.js';

// The same checks libcni's utils package makes before running a plugin, so a
// bad id fails here with a clear message instead of deep inside a plugin.

const idRegex = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function validateRuntimeConf(networkName: string, rt: RuntimeConf): void {
  if (!rt.containerId) throw new TsrunError('BAD_INPUT', 'missing container ID');
  if (!idRegex.test(rt.containerId)) {
    throw new TsrunError('BAD_INPUT', `invalid characters in container ID "${rt.containerId}"`);
  }
  if (!idRegex.test(networkName)) throw new TsrunError('BAD_INPUT', `invalid characters in network name "${networkName}"`);
  const ifName = rt.ifName;
  if (!ifName) throw new TsrunError('BAD_INPUT', 'missing interface name');
  if (ifName.length > 15) throw new TsrunError('BAD_INPUT', `interface name "${ifName}" is longer than 15 characters`);
  if (ifName === '.' || ifName === '..') throw new TsrunError('BAD_INPUT', `interface name "${ifName}" is not allowed`);
  if (/[/:\s]/.test(ifName)) throw new TsrunError('BAD_INPUT', `interface name "${ifName}" contains "/", ":" or whitespace`);
}
