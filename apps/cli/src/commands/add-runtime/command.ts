import type { Command } from 'commander';
import type { CliHost } from '../../lib/cli-host.js';
import { collect } from '../../lib/options.js';

interface Options {
  readonly idFile?: string;
  readonly option?: string[];
}

/** `lazycluster add-runtime NAME user@host[:port]`. */
export function registerAddRuntime(program: Command, host: CliHost): void {
  program
    .command('add-runtime')
    .summary('add a host to the SSH config')
    .description(
      'Add a Host block for NAME to the SSH config, so NAME can be used as a runtime. ' +
        'The file is edited in place: every other line (comments, blank lines, other hosts) stays ' +
        'byte-for-byte as it was, and it is replaced atomically with its permissions kept. A missing ' +
        'file is created with mode 0600 (and its directory with 0700). The block goes before the first ' +
        '`Host *` (or other wildcard or Match section that would apply to NAME first), else at the end.',
    )
    .argument('<name>', 'the alias to use for the host (letters, digits, ".", "_", "-")')
    .argument('<user@host[:port]>', 'how to reach it, e.g. me@10.0.0.5:2222 or me@[::1]:22')
    .option('--id-file <file>', 'private key to log in with (IdentityFile)')
    .option('--option <key=value>', 'another ssh_config(5) option, e.g. --option ProxyJump=gw (repeatable)', collect)
    .addHelpText('after', '\nExample:\n  lazycluster add-runtime gpu1 me@10.0.0.5 --id-file ~/.ssh/id_ed25519 --option ProxyJump=gateway')
    .action(async (name: string, spec: string, options: Options, command: Command) => {
      const { addRuntime } = await import('./add-runtime.js');
      host.setExitCode(await addRuntime(await host.context(command), { name, spec, idFile: options.idFile, options: options.option ?? [] }));
    });
}
