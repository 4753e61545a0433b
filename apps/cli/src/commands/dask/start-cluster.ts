import { DaskCluster, LocalMasterLauncher, RoundRobinLauncher } from '@lazycluster/dask';
import { LOCALHOST, NoRuntimesDetectedError, RuntimeGroup } from '@lazycluster/runtime';
import type { CliContext } from '../../lib/context.js';
import { HostProgress } from '../../lib/progress.js';
import { checkHostSpecs, resolveTargets } from '../../lib/targets.js';
import type { DaskCommandOptions } from './command.js';

/** The line of the scheduler in the progress display. */
const SCHEDULER = 'scheduler';

/**
 * The runtime group of a Dask command: `--hosts`, else every usable host of the SSH config
 * (unusable ones are reported and left out), else, when the config names no host at all,
 * the manager alone.
 */
export async function clusterGroup(context: CliContext, options: DaskCommandOptions): Promise<RuntimeGroup> {
  const common = { sshConfigPath: context.sshConfigPath, logger: context.logger };
  if (options.hosts !== undefined) {
    checkHostSpecs(options.hosts);
    return new RuntimeGroup({ hosts: options.hosts, ...common });
  }
  const targets = await resolveTargets(context, undefined);
  if (targets.configured === 0) {
    context.stderr.write(`No hosts in ${context.sshConfigPath}: running the cluster on this machine alone.\n`);
    return new RuntimeGroup({ hosts: [LOCALHOST], ...common });
  }
  if (targets.hosts.length === 0) {
    throw new NoRuntimesDetectedError({ sshConfigPath: context.sshConfigPath, checked: targets.configured, inactiveHosts: targets.unavailable });
  }
  for (const { host, reason } of targets.unavailable) {
    context.stderr.write(`${context.paintErr('yellow', 'skipping')} ${host}: ${reason.replace(/\s*\n\s*/g, ' ')}\n`);
  }
  return new RuntimeGroup({ hosts: targets.hosts, ...common });
}

/** How many workers each host gets: worker i goes to host i mod n, as the round-robin launcher places them. */
export function workersPerHost(hosts: readonly string[], workerCount: number): Map<string, number> {
  const counts = new Map(hosts.map((host) => [host, 0]));
  for (let i = 0; i < workerCount; i++) {
    const host = hosts[i % hosts.length];
    if (host !== undefined) counts.set(host, (counts.get(host) ?? 0) + 1);
  }
  return counts;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0] ?? text;
}

/**
 * Starts a Dask cluster on `group`, showing per-host progress on stderr (connect, scheduler,
 * each worker). Resolves once every worker is connected to the scheduler. On failure or
 * when `signal` aborts, everything started is removed before it rejects.
 */
export async function startDaskCluster(context: CliContext, group: RuntimeGroup, options: DaskCommandOptions, signal: AbortSignal): Promise<DaskCluster> {
  const network = options.network ?? 'tunnel';
  const python = options.python;
  const logger = context.logger;
  // Debug output of the processes goes to stderr: stdout is kept for results (--json).
  const output = context.stderr;
  const cluster = new DaskCluster(group, {
    network,
    logger,
    masterLauncher: new LocalMasterLauncher(group, { network, logger, output, ...(python === undefined ? {} : { python }) }),
    workerLauncher: new RoundRobinLauncher(group, {
      network,
      logger,
      output,
      ...(python === undefined ? {} : { python }),
      ...(options.nthreads === undefined ? {} : { nthreads: options.nthreads }),
      ...(options.memoryLimit === undefined ? {} : { memoryLimit: options.memoryLimit }),
    }),
  });

  const hosts = group.hosts;
  const workerCount = options.workers ?? hosts.length;
  const expected = workersPerHost(hosts, workerCount);
  const ready = new Map(hosts.map((host) => [host, 0]));
  const unreachable = new Set<string>();
  // With --debug, the processes' output is interleaved: plain lines read better than redraws.
  const progress = new HostProgress(context.stderr, { interactive: context.stderr.isTTY === true && !context.debug, color: context.colorErr, hosts: [...hosts, SCHEDULER] });
  context.logSink = (line) => progress.print(line);
  const unsubscribe = [
    cluster.on('master-started', ({ port }) => {
      progress.update(SCHEDULER, 'done', `ready on port ${port}`);
      for (const host of hosts) {
        const count = expected.get(host) ?? 0;
        if (count > 0) progress.update(host, 'active', `starting ${plural(count, 'worker')}`);
      }
    }),
    cluster.on('worker-started', ({ host }) => {
      const done = (ready.get(host) ?? 0) + 1;
      ready.set(host, done);
      const count = expected.get(host) ?? 0;
      progress.update(host, done >= count ? 'done' : 'active', `${done}/${plural(count, 'worker')} ready`);
    }),
  ];

  try {
    // Connections first, one progress line each; start() reuses them.
    const results = await Promise.allSettled(
      group.runtimes.map(async (runtime) => {
        progress.update(runtime.host, 'active', 'connecting');
        try {
          await runtime.connect({ signal });
        } catch (error) {
          unreachable.add(runtime.host);
          progress.update(runtime.host, 'failed', firstLine(error));
          throw error;
        }
        if ((expected.get(runtime.host) ?? 0) > 0) progress.update(runtime.host, 'active', 'connected, waiting for the scheduler');
        else progress.update(runtime.host, 'done', 'connected (no worker: more hosts than workers)');
      }),
    );
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    signal.throwIfAborted();
    if (failed !== undefined) throw failed.reason;
    progress.update(SCHEDULER, 'active', 'starting on this machine');
    await cluster.start({
      workerCount,
      ...(options.masterPort === undefined ? {} : { masterPort: options.masterPort }),
      debug: context.debug,
      signal,
    });
    progress.stop();
    return cluster;
  } catch (error) {
    if (!signal.aborted) {
      if (cluster.masterPort === undefined) progress.update(SCHEDULER, 'failed', 'not started');
      for (const host of hosts) {
        const count = expected.get(host) ?? 0;
        const done = ready.get(host) ?? 0;
        if (!unreachable.has(host) && done < count) progress.update(host, 'failed', `${done}/${plural(count, 'worker')} ready`);
      }
    }
    progress.stop();
    await cluster.cleanup();
    throw error;
  } finally {
    context.logSink = undefined;
    for (const stop of unsubscribe) stop();
  }
}
