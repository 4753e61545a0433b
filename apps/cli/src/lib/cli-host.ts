import type { Command } from 'commander';
import type { CliContext } from './context.js';

/** What a command's definition needs from the program that runs it. */
export interface CliHost {
  /** The context of the command being run, from its own and the global options. */
  context(command: Command): Promise<CliContext>;
  /** Records the exit code of the command that ran. */
  setExitCode(code: number): void;
}
