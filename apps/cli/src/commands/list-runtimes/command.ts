import type { Command } from 'commander';
import type { CliHost } from '../../lib/cli-host.js';

interface Options {
  readonly long?: boolean;
  readonly json?: boolean;
}

/** `lazycluster list-runtimes [--long] [--json]`. */
export function registerListRuntimes(program: Command, host: CliHost): void {
  program
    .command('list-runtimes')
    .summary('check every host of the SSH config')
    .description(
      'Check every concrete Host of the SSH config, all at once: can it be reached, does it have a ' +
        'usable shell and python3. Hosts that fail are listed as inactive with the reason.',
    )
    .option('-l, --long', 'also show OS, CPU cores, memory, Python version and GPUs')
    .option('--json', 'print { "active": [{ host, os, cpuCores, memoryBytes, pythonVersion, gpus }], "inactive": [{ host, reason }] }')
    .action(async (options: Options, command: Command) => {
      const { listRuntimes } = await import('./list-runtimes.js');
      host.setExitCode(await listRuntimes(await host.context(command), { long: options.long === true, json: options.json === true }));
    });
}
