import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerAddRuntime } from './commands/add-runtime/command.js';
import { registerDask } from './commands/dask/command.js';
import { registerDeleteRuntime } from './commands/delete-runtime/command.js';
import { registerExec } from './commands/exec/command.js';
import { registerListRuntimes } from './commands/list-runtimes/command.js';
import type { CliHost } from './lib/cli-host.js';
import type { CliIo } from './lib/context.js';

/** The version in this package's package.json. */
export function cliVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}

/**
 * The whole command tree. Only the definitions are loaded here; each command's handler is
 * imported when that command runs, so `--help` and a usage error cost no more than commander.
 */
export function buildProgram(io: CliIo, host: CliHost): Command {
  const program = new Command('lazycluster')
    .description('Turn machines you reach over SSH into a Dask (or your own) cluster, and leave nothing behind.')
    .version(cliVersion(), '-V, --version', 'print the version')
    .option('--ssh-config <path>', 'the SSH config to read and edit (default: $LAZYCLUSTER_SSH_CONFIG, else ~/.ssh/config)')
    .option('--debug', "show the library's debug log, remote output and stack traces")
    .helpOption('-h, --help', 'show help')
    .helpCommand(false)
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: (text, write) => write(`lazycluster: ${text.replace(/^error: /, '')}`),
    })
    .addHelpText(
      'after',
      '\nExit codes: 0 success, 1 failure, 2 bad command line.\n' +
        'Colours are off when the output is not a terminal or NO_COLOR is set.',
    );
  registerListRuntimes(program, host);
  registerAddRuntime(program, host);
  registerDeleteRuntime(program, host);
  registerExec(program, host);
  registerDask(program, host);
  return program;
}
