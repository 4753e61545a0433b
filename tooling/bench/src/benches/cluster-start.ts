import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { DaskClient, DaskCluster } from '@lazycluster/dask';
import { execOnHost, hostProcesses, type LabDescription } from '@lazycluster/lab';
import { labGroup } from '../lab-runtimes.js';
import { interleave, type Probe } from '../measure.js';
import { runLocal, start, stop, waitForLine } from '../processes.js';
import { freeLocalPort } from '../tcp.js';
import { compare, series, type Bench, type BenchContext, type Comparison, type Series } from '../types.js';

const SSHCLUSTER_SCRIPT = fileURLToPath(new URL('../../python/sshcluster_start.py', import.meta.url));
const PYTHON = '/usr/bin/python3';
const READY_TIMEOUT_MS = 180_000;

/** Our side: a DaskCluster (scheduler on the manager, workers over SSH tunnels), from the call until every worker runs. */
async function oursStart(lab: LabDescription, hosts: number): Promise<number> {
  const begin = performance.now();
  const group = labGroup(lab, hosts);
  const cluster = new DaskCluster(group, { worker: { nthreads: 1, python: PYTHON }, scheduler: { python: PYTHON } });
  try {
    await cluster.start({ workerCount: hosts });
    await using client = await cluster.getClient({ timeoutMs: 10_000 });
    await client.waitForWorkers(hosts, { timeoutMs: READY_TIMEOUT_MS });
    return performance.now() - begin;
  } finally {
    await cluster.cleanup();
    await group.cleanup();
  }
}

/** Dask's SSHCluster: scheduler on h1 over SSH, one worker per host; `fromCall` as the script measures it. */
async function sshClusterStart(lab: LabDescription, hosts: number, nanny: boolean): Promise<number> {
  const addresses = lab.hosts.slice(0, hosts).map((h) => h.address);
  const config = { hosts: [addresses[0], ...addresses], knownHosts: lab.knownHostsPath, key: lab.identityFile, nanny };
  const result = await runLocal(PYTHON, [SSHCLUSTER_SCRIPT, JSON.stringify(config)], { timeoutMs: READY_TIMEOUT_MS });
  const line = result.stdout.split('\n').find((l) => l.startsWith('{'));
  if (result.exitCode !== 0 || line === undefined) {
    throw new Error(`SSHCluster did not start (exit ${result.exitCode}): ${result.stderr.trim().split('\n').slice(-3).join(' / ')}`);
  }
  return (JSON.parse(line) as { fromCall: number }).fromCall * 1000;
}

/** The floor: dask-scheduler and `workers` dask-workers started at once on the manager, no SSH, no nanny. */
async function floorStart(workers: number, dir: string): Promise<number> {
  const port = await freeLocalPort();
  const address = `tcp://127.0.0.1:${port}`;
  const begin = performance.now();
  const scheduler = start('/usr/bin/dask-scheduler', ['--host', '127.0.0.1', '--port', String(port), '--no-dashboard'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const workerArgs = [address, '--no-nanny', '--nthreads', '1', '--no-dashboard', '--host', '127.0.0.1', '--local-directory', dir];
  const started = Array.from({ length: workers }, () => start('/usr/bin/dask-worker', workerArgs, { cwd: dir, stdio: 'ignore' }));
  try {
    if (scheduler.stderr === null) throw new Error('dask-scheduler has no stderr');
    await waitForLine(scheduler.stderr, /Scheduler at:/, READY_TIMEOUT_MS);
    scheduler.stderr.resume();
    await using client = await DaskClient.connect(address, { timeoutMs: 10_000 });
    await client.waitForWorkers(workers, { timeoutMs: READY_TIMEOUT_MS });
    return performance.now() - begin;
  } finally {
    await Promise.all([...started, scheduler].map(async (child) => await stop(child)));
  }
}

/** Kills every Dask process left on the first `hosts` hosts; returns how many there were. */
async function killLeftovers(lab: LabDescription, hosts: number): Promise<number> {
  let count = 0;
  for (const host of lab.hosts.slice(0, hosts)) {
    const pids = (await hostProcesses(lab, host.name)).filter((p) => /distributed|dask|multiprocessing/.test(p.args)).map((p) => String(p.pid));
    count += pids.length;
    if (pids.length > 0) await execOnHost(lab, host.name, ['kill', '-9', ...pids]);
  }
  return count;
}

export const clusterStart: Bench = {
  name: 'cluster-start',
  title: 'Cluster start',
  async run(context: BenchContext) {
    const { lab, budget, quick, log } = context;
    const base = { name: this.name, title: this.title, compares: '', series: [], comparisons: [], charts: [], notes: [] };
    if ((await runLocal(PYTHON, ['-c', 'import asyncssh'])).exitCode !== 0) {
      return { ...base, skipped: `Dask's SSHCluster needs asyncssh, which ${PYTHON} cannot import (apt-get install python3-asyncssh)` };
    }
    const dir = await mkdtemp(join(context.tmpDir, 'dask-'));
    const all: Series[] = [];
    const comparisons: Comparison[] = [];
    const notes: string[] = [];
    try {
      for (const hosts of budget.clusterHosts) {
        log(`cluster-start: ${hosts} hosts`);
        const leftovers = { sshCluster: [] as number[], sshClusterNoNanny: [] as number[], ours: [] as number[] };
        const sshCluster = async (nanny: boolean): Promise<number> => {
          try {
            return await sshClusterStart(lab, hosts, nanny);
          } finally {
            leftovers[nanny ? 'sshCluster' : 'sshClusterNoNanny'].push(await killLeftovers(lab, hosts));
          }
        };
        const probes: Record<string, Probe> = {
          ours: async () => {
            try {
              return await oursStart(lab, hosts);
            } finally {
              leftovers.ours.push(await killLeftovers(lab, hosts));
            }
          },
          sshCluster: async () => await sshCluster(true),
        };
        const full = !quick && hosts === 3;
        if (full) probes.sshClusterNoNanny = async () => await sshCluster(false);
        if (hosts === 3) probes.floor = async () => await floorStart(1, dir);
        if (full) probes.floorSame = async () => await floorStart(hosts, dir);
        // Quick mode is a smoke test of the suite: one round, no warm-up. At 12 hosts a round
        // takes a minute on a loaded 2-core machine, so three rounds.
        const runs = quick ? 1 : hosts === 3 ? Math.min(budget.runs, 5) : 3;
        const samples = await interleave(runs, probes, { warmup: !quick });
        const s = (id: string, label: string): Series => series(`${id}-${hosts}`, label, 's', (samples[id] ?? []).map((ms) => ms / 1000));
        const ours = s('ours', `DaskCluster, scheduler + ${hosts} workers (no nanny), ready`);
        const ssh = s('sshCluster', `Dask SSHCluster, scheduler on h1 + ${hosts} workers (nanny), ready`);
        all.push(ours, ssh);
        comparisons.push(compare(`${hosts} hosts vs SSHCluster`, ours, ssh, hosts === 3 ? { op: '<=', value: 0.7 } : undefined));
        if (samples.sshClusterNoNanny !== undefined) {
          const noNanny = s('sshClusterNoNanny', `Dask SSHCluster, ${hosts} workers without nanny (like for like)`);
          all.push(noNanny);
          comparisons.push(compare(`${hosts} hosts vs SSHCluster without nanny`, ours, noNanny));
        }
        if (samples.floor !== undefined) {
          const floor = s('floor', 'floor: dask-scheduler + 1 dask-worker --no-nanny on the manager, no SSH');
          all.push(floor);
          comparisons.push(compare(`${hosts} hosts vs floor (1 worker)`, ours, floor, { op: '<=', value: 1.5 }));
        }
        if (samples.floorSame !== undefined) {
          const floorSame = s('floorSame', `floor: dask-scheduler + ${hosts} dask-workers --no-nanny on the manager`);
          all.push(floorSame);
          comparisons.push(compare(`${hosts} hosts vs floor (${hosts} workers)`, ours, floorSame));
        }
        const left = (xs: readonly number[]): string => (Math.min(...xs) === Math.max(...xs) ? String(xs[0] ?? 0) : `${Math.min(...xs)}–${Math.max(...xs)}`);
        // Counted after every run, the warm-up included.
        all.push(
          series(`leftovers-sshCluster-${hosts}`, `Dask processes SSHCluster left on the hosts after close() (${hosts} hosts)`, 'processes', leftovers.sshCluster),
          series(`leftovers-ours-${hosts}`, `Dask processes DaskCluster left on the hosts after cleanup() (${hosts} hosts)`, 'processes', leftovers.ours),
        );
        const noNannyLeft = leftovers.sshClusterNoNanny.length > 0 ? `, without nanny ${left(leftovers.sshClusterNoNanny)}` : '';
        if (leftovers.sshClusterNoNanny.length > 0) {
          all.push(series(`leftovers-sshClusterNoNanny-${hosts}`, `Dask processes SSHCluster without nanny left (${hosts} hosts)`, 'processes', leftovers.sshClusterNoNanny));
        }
        notes.push(
          `${hosts} hosts: Dask processes left on the hosts after each run (killed by the bench): SSHCluster ${left(leftovers.sshCluster)}${noNannyLeft}; DaskCluster ${left(leftovers.ours)}.`,
        );
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    notes.push(
      "SSHCluster is timed from the call inside its Python process (the interpreter's start and `import distributed` are not counted); DaskCluster from `new DaskCluster` (connections included).",
      'SSHCluster uses its default worker class (a nanny per worker); DaskCluster starts workers without one by default.',
      'Every lab host shares the manager\'s cores: N workers start on the same 2 CPUs whichever tool starts them.',
    );
    return {
      ...base,
      compares: 'scheduler + one worker per host, all registered with the scheduler: DaskCluster vs Dask\'s own SSHCluster on the same hosts vs the floor (processes started on the manager with no SSH)',
      series: all,
      comparisons,
      charts: [{ kind: 'bars', file: 'cluster-start.svg', title: 'Cluster start until every worker is registered (median, p25–p75)', series: all.filter((x) => x.unit === 's').map((x) => x.id) }],
      notes,
    };
  },
};
