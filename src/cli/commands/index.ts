import type { Command } from '../command.js';
import { specCommand } from './spec.js';
import { command as netCommand } from './net.js';
import { command as netnsCommand } from './netns.js';

// The command table. Each command lives in its own file.
export const commands: Command[] = [specCommand, netCommand, netnsCommand];
