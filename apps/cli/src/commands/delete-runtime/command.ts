import type { Command } from 'commander';
import type { CliHost } from '../../lib/cli-host.js';

/** `lazycluster delete-runtime NAME`. */
export function registerDeleteRuntime(program: Command, host: CliHost): void {
  program
    .command('delete-runtime')
    .summary('remove a host from the SSH config')
    .description(
      'Remove the Host block of NAME from the SSH config, with the comment lines right above it. ' +
        'Everything else stays byte-for-byte as it was. When NAME shares its Host line with other ' +
        'names, only NAME is taken out of that line.',
    )
    .argument('<name>', 'the alias of the host, as in `Host NAME`')
    .action(async (name: string, _options: unknown, command: Command) => {
      const { deleteRuntime } = await import('./delete-runtime.js');
      host.setExitCode(await deleteRuntime(await host.context(command), { name }));
    });
}
