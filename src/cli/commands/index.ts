import type { Command } from '../command.js';
import { specCommand } from './spec.js';

// The command table. Each command lives in its own file.
export const commands: Command[] = [specCommand];
