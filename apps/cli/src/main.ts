import { CommanderError, type Command } from 'commander';
import type { CliContext, CliIo, GlobalOptions } from './lib/context.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, exitCodeFor, formatError } from './lib/errors.js';
import { buildProgram } from './program.js';

/** What a shell reports for a process killed by SIGPIPE. */
const EPIPE_EXIT_CODE = 141;

/** Commander's codes for a help or version request, which are successes. */
const SUCCESS_CODES = new Set(['commander.helpDisplayed', 'commander.version']);

/**
 * Runs the `lazycluster` command line (`argv` without `node` and the script) and resolves with
 * the exit code. Every error ends here: usage errors give 2, everything else 1, with one
 * message on stderr (and the stack with `--debug`).
 */
export async function main(argv: readonly string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  const split = argv.indexOf('--');
  const commandWords = split < 0 ? undefined : argv.slice(split + 1);
  const debug = (split < 0 ? argv : argv.slice(0, split)).includes('--debug');
  let exitCode = EXIT_OK;
  let running: string | undefined;
  const program = buildProgram(io, {
    context: async (command: Command): Promise<CliContext> => {
      running = commandPath(command);
      // Loaded here, not at startup: it pulls in @lazycluster/runtime, which --help and usage errors never need.
      const { createContext } = await import('./lib/context.js');
      return createContext(io, command.optsWithGlobals<GlobalOptions>(), commandWords);
    },
    setExitCode: (code) => {
      exitCode = code;
    },
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (SUCCESS_CODES.has(error.code)) return EXIT_OK;
      return error.code === 'commander.error' ? error.exitCode || EXIT_FAILURE : EXIT_USAGE;
    }
    io.stderr.write(formatError(error, { debug, command: running }));
    return exitCodeFor(error);
  }
}

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let current: Command | null = command; current?.parent != null; current = current.parent) names.unshift(current.name());
  return names.join(' ');
}

/** The entry point of the `lazycluster` binary. */
export async function runCli(): Promise<void> {
  // A reader that went away (`lazycluster ... | head`) ends the command quietly, as SIGPIPE
  // would; the hosts' agents stop what was started once the connections close.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(EPIPE_EXIT_CODE);
      throw error;
    });
  }
  const code = await main(process.argv.slice(2));
  process.exitCode = code;
  // NOTE: everything is closed by now and Node exits by itself; should some handle still hold
  // the event loop, this unref'd timer ends the process instead of leaving it hanging.
  setTimeout(() => process.exit(code), 2000).unref();
}
