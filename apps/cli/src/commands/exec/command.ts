import type { Command } from 'commander';
import type { CliHost } from '../../lib/cli-host.js';
import { parseHostList } from '../../lib/options.js';

interface Options {
  readonly hosts?: string[];
}

/** `lazycluster exec [--hosts a,b] -- COMMAND...`. */
export function registerExec(program: Command, host: CliHost): void {
  program
    .command('exec')
    .summary('run a shell command on every runtime')
    .description(
      'Run COMMAND on every runtime in parallel (every concrete Host of the SSH config, or --hosts), ' +
        "streaming each host's output as it comes, every line prefixed with its host.\n\n" +
        'As with ssh, the words after "--" are joined with spaces and run by /bin/sh on the host, in ' +
        "the login user's home directory: the host's shell expands variables, globs and pipes. So " +
        "`lazycluster exec -- echo '$HOME'` prints each host's own home, and a pipe meant for the " +
        "host must be quoted: `lazycluster exec -- 'ps aux | grep dask'`.\n\n" +
        'Exits with 1 when the command failed on any host (or a host could not be reached), 0 when ' +
        'it succeeded everywhere; a one-line summary goes to stderr. Ctrl-C stops it everywhere.',
    )
    .option('--hosts <a,b>', 'only these hosts: SSH config aliases, user@host[:port], or localhost (the manager)', parseHostList)
    .argument('[command...]', 'the command, after "--"')
    .addHelpText('after', "\nExamples:\n  lazycluster exec -- uptime\n  lazycluster exec --hosts h1,h2 -- 'nproc; free -h'")
    .action(async (operands: string[], options: Options, command: Command) => {
      const { execOnRuntimes } = await import('./exec.js');
      host.setExitCode(await execOnRuntimes(await host.context(command), { operands, hosts: options.hosts }));
    });
}
