import type { Command } from '../command.js';
import { createCommand } from './create.js';
import { startCommand } from './start.js';
import { runCommand } from './run.js';
import { stateCommand } from './state.js';
import { killCommand } from './kill.js';
import { deleteCommand } from './delete.js';
import { listCommand } from './list.js';
import { psCommand } from './ps.js';
import { specCommand } from './spec.js';
import { command as netCommand } from './net.js';
import { command as netnsCommand } from './netns.js';

// The command table. Each command lives in its own file.
export const commands: Command[] = [
  createCommand,
  startCommand,
  runCommand,
  stateCommand,
  killCommand,
  deleteCommand,
  listCommand,
  psCommand,
  specCommand, netCommand, netnsCommand];
