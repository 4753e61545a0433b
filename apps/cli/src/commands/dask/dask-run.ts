import { spawn } from 'node:child_process';
import type { DaskCluster } from '@lazycluster/dask';
import type { CliContext } from '../../lib/context.js';
import { requireCommandWords } from '../../lib/context.js';
import { onInterrupt, signalExitCode, type StopSignal } from '../../lib/signals.js';
import type { DaskCommandOptions } from './command.js';
import { clusterGroup, startDaskCluster } from './start-cluster.js';

/** How a local command ended, as the exit code a shell would report. */
export function commandExitCode(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return signal === null ? 1 : signalExitCode(signal);
}

/**
 * `dask run`: starts the cluster, runs the command on the manager with
 * `DASK_SCHEDULER_ADDRESS` set, removes the cluster and exits with the command's code.
 */
export async function daskRun(context: CliContext, options: DaskCommandOptions & { readonly operands: readonly string[] }): Promise<number> {
  const words = requireCommandWords(context, 'dask run', options.operands);
  const [file = '', ...args] = words;
  const abort = new AbortController();
  let interrupted: StopSignal | undefined;
  let child: ReturnType<typeof spawn> | undefined;
  const release = onInterrupt({
    first: (signal) => {
      interrupted = signal;
      if (child === undefined) {
        context.stderr.write(`${signal}: removing the cluster (again to quit at once)\n`);
        abort.abort(new Error(`interrupted by ${signal}`));
        return;
      }
      // NOTE: Ctrl-C on a terminal already reached the command (same process group); sending
      // SIGINT again would interrupt it twice. Anything else is passed on.
      if (!(signal === 'SIGINT' && process.stdin.isTTY)) child.kill(signal);
    },
    again: (signal) => {
      child?.kill('SIGKILL');
      process.exit(signalExitCode(signal));
    },
  });
  let cluster: DaskCluster | undefined;
  try {
    const group = await clusterGroup(context, options);
    if (abort.signal.aborted) {
      await group.cleanup();
      return signalExitCode(interrupted ?? 'SIGINT');
    }
    try {
      cluster = await startDaskCluster(context, group, options, abort.signal);
    } catch (error) {
      if (abort.signal.aborted) return signalExitCode(interrupted ?? 'SIGINT');
      throw error;
    }
    const env = { ...process.env, ...cluster.env };
    context.stderr.write(`Running ${words.join(' ')} with DASK_SCHEDULER_ADDRESS=${cluster.env.DASK_SCHEDULER_ADDRESS}\n`);
    const code = await new Promise<number>((resolve) => {
      const started = spawn(file, args, { stdio: 'inherit', env });
      child = started;
      started.once('error', (error: NodeJS.ErrnoException) => {
        const missing = error.code === 'ENOENT';
        context.stderr.write(`lazycluster: cannot run ${file}: ${missing ? 'command not found (check the name and PATH)' : error.message}\n`);
        resolve(missing ? 127 : 126);
      });
      started.once('exit', (exitCode, signal) => resolve(commandExitCode(exitCode, signal)));
    });
    child = undefined;
    return code;
  } finally {
    await cluster?.cleanup();
    release();
  }
}
