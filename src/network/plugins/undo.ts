import { errorMessage } from '../../errors.js';

// The reference's `defer if !success {undo}`: each resource registers its undo
// as soon as it exists; on failure they run newest first, and an undo that
// fails is reported next to the original error instead of hiding it.

export class Undo {
  private steps: [string, () => unknown][] = [];

  push(what: string, step: () => unknown): void {
    this.steps.push([what, step]);
  }

  async run(err: unknown): Promise<never> {
    const problems: string[] = [];
    for (const [what, step] of this.steps.reverse()) {
      try {
        await step();
      } catch (e) {
        problems.push(`${what}: ${errorMessage(e)}`);
      }
    }
    if (problems.length && err instanceof Error) err.message += ` (rollback also failed: ${problems.join('; ')})`;
    throw err;
  }
}
