import { Option, type Command } from 'commander';
import type { CliHost } from '../../lib/cli-host.js';
import { parseHostList, parseMemoryLimit, parsePort, parsePositiveInt } from '../../lib/options.js';

/** The options `dask up` and `dask run` share. */
export interface DaskCommandOptions {
  readonly hosts?: string[];
  readonly workers?: number;
  readonly nthreads?: number;
  readonly memoryLimit?: string;
  readonly masterPort?: number;
  readonly python?: string;
  readonly network?: 'tunnel' | 'direct';
  readonly json?: boolean;
}

function clusterOptions(command: Command): Command {
  return command
    .option('--hosts <a,b>', 'run workers on these hosts only (default: every usable host of the SSH config; the manager alone when it names none)', parseHostList)
    .option('--workers <n>', 'number of workers, spread round-robin over the hosts (default: one per host)', parsePositiveInt)
    .option('--nthreads <n>', 'threads per worker (default: one per CPU core of its host)', parsePositiveInt)
    .option('--memory-limit <size>', 'memory per worker: auto, bytes, a fraction such as 0.5, or a size such as 4GB', parseMemoryLimit)
    .option('--master-port <port>', 'the scheduler port (default: 8786 when free everywhere, else a free one)', parsePort)
    .option('--python <path>', 'Python interpreter with dask installed, on the manager and every host (default: python3 or /usr/bin/python3, whichever has it)')
    .addOption(new Option('--network <mode>', 'tunnel: everything over SSH tunnels and loopback; direct: hosts talk over their own addresses').choices(['tunnel', 'direct']).default('tunnel'));
}

/** `lazycluster dask up` and `lazycluster dask run`. */
export function registerDask(program: Command, host: CliHost): void {
  const dask = program
    .command('dask')
    .summary('start a Dask cluster over the runtimes')
    .description('Start a Dask cluster: the scheduler on this machine (the manager), workers on the runtimes.');

  clusterOptions(
    dask
      .command('up')
      .summary('start a cluster and keep it until Ctrl-C')
      .description(
        'Start the scheduler on this machine and the workers on the runtimes, print the scheduler ' +
          'address and dashboard link once every worker is connected, and keep the cluster until ' +
          'SIGINT (Ctrl-C) or SIGTERM; then remove everything on every host and exit 0. A second ' +
          'Ctrl-C exits at once: closing the connections still stops every remote process.',
      ),
  )
    .option('--json', 'print { schedulerAddress, dashboardLink, workers: [{ index, host, port, pid }] } once ready')
    .addHelpText('after', '\nExample:\n  lazycluster dask up --workers 6 --nthreads 2\n  DASK_SCHEDULER_ADDRESS=tcp://127.0.0.1:8786 python my_job.py   # from another terminal')
    .action(async (options: DaskCommandOptions, command: Command) => {
      const { daskUp } = await import('./dask-up.js');
      host.setExitCode(await daskUp(await host.context(command), options));
    });

  clusterOptions(
    dask
      .command('run')
      .summary('start a cluster, run a command against it, remove it')
      .description(
        'Start the cluster, run COMMAND on this machine with DASK_SCHEDULER_ADDRESS set (stdin, stdout ' +
          'and stderr are the terminal\'s), then remove the cluster. Exits with COMMAND\'s exit code ' +
          '(128 + the signal number when a signal ended it), 1 when the cluster could not start. ' +
          'COMMAND is run directly, not through a shell: use `sh -c \'...\'` for pipes or variables.',
      ),
  )
    .argument('[command...]', 'the command, after "--"')
    .addHelpText('after', "\nExample:\n  lazycluster dask run --workers 4 -- python3 -c 'from dask.distributed import Client; print(Client())'")
    .action(async (operands: string[], options: DaskCommandOptions, command: Command) => {
      const { daskRun } = await import('./dask-run.js');
      host.setExitCode(await daskRun(await host.context(command), { ...options, operands }));
    });
}
