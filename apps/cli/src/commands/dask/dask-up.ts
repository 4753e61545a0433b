import type { DaskCluster } from '@lazycluster/dask';
import type { CliContext } from '../../lib/context.js';
import { onInterrupt, signalExitCode, type StopSignal } from '../../lib/signals.js';
import type { DaskCommandOptions } from './command.js';
import { daskUpJson, formatDaskUp } from './format.js';
import { clusterGroup, startDaskCluster } from './start-cluster.js';

/**
 * `dask up`: starts the cluster, prints where it is once every worker is connected, then
 * waits (on signals, not a loop) for SIGINT/SIGTERM, removes everything and exits 0. A second
 * signal exits at once; the hosts' agents stop their processes when the connections close.
 */
export async function daskUp(context: CliContext, options: DaskCommandOptions): Promise<number> {
  const abort = new AbortController();
  let stopRequested: ((signal: StopSignal) => void) | undefined;
  const stopped = new Promise<StopSignal>((resolve) => {
    stopRequested = resolve;
  });
  const release = onInterrupt({
    first: (signal) => {
      context.stderr.write(`${signal}: removing the cluster from every host (again to quit at once)\n`);
      abort.abort(new Error(`interrupted by ${signal}`));
      stopRequested?.(signal);
    },
    again: (signal) => process.exit(signalExitCode(signal)),
  });
  let cluster: DaskCluster | undefined;
  try {
    const group = await clusterGroup(context, options);
    if (abort.signal.aborted) {
      await group.cleanup();
      return 0;
    }
    try {
      cluster = await startDaskCluster(context, group, options, abort.signal);
    } catch (error) {
      if (abort.signal.aborted) return 0;
      throw error;
    }
    const address = cluster.schedulerAddress ?? '';
    const info = daskUpJson(address, cluster.dashboardLink, cluster.status().workers);
    if (options.json === true) context.stdout.write(`${JSON.stringify(info)}\n`);
    else context.stdout.write(`${formatDaskUp(info, context.paintOut).join('\n')}\n`);
    context.stderr.write(`Cluster ready with ${info.workers.length} worker${info.workers.length === 1 ? '' : 's'}. Press Ctrl-C to remove it.\n`);

    let schedulerDied: ((reason: string) => void) | undefined;
    const died = new Promise<string>((resolve) => {
      schedulerDied = resolve;
    });
    cluster.on('worker-exited', (event) => {
      if (!event.expected) {
        const how = event.signal === null ? `exit code ${event.exitCode ?? '?'}` : event.signal;
        context.stderr.write(`${context.paintErr('yellow', 'warning')}: worker ${event.index} on ${event.host} exited (${how}); the cluster goes on without it.\n`);
      }
    });
    cluster.on('master-exited', (event) => {
      if (!event.expected) schedulerDied?.(event.signal === null ? `exit code ${event.exitCode ?? '?'}` : event.signal);
    });
    const outcome = await Promise.race([stopped.then(() => undefined), died]);
    if (outcome !== undefined) {
      context.stderr.write(`lazycluster: the Dask scheduler exited unexpectedly (${outcome}); removing the workers. Run with --debug to see its output.\n`);
      await cluster.cleanup();
      return 1;
    }
    await cluster.cleanup();
    context.stderr.write('Cluster removed.\n');
    return 0;
  } finally {
    await cluster?.cleanup();
    release();
  }
}
