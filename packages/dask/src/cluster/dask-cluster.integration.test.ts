// DaskCluster on the lab's hosts with a real Dask (Debian's python3-distributed 2022.12.1).
import { execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { MasterStartError } from '@lazycluster/core';
import { PortInUseError } from '@lazycluster/ports';
import { RuntimeGroup } from '@lazycluster/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DaskClient } from '../client/dask-client.js';
import { TimeoutError } from '../client/errors.js';
import { DaskCluster } from './dask-cluster.js';
import { DaskNotInstalledError } from './errors.js';

// NOTE: packages/dask/tsconfig.json does not map the private lab package (core's maps it with
// `paths`), so it is imported through a specifier the type checker does not follow; vitest's
// alias resolves it. The interface lists what these tests use of it.
interface Lab {
  readonly managerAddress: string;
  readonly sshConfigPath: string;
  readonly hosts: readonly { readonly name: string; readonly address: string }[];
}
interface LabApi {
  readonly readLab: () => Promise<Lab>;
  readonly execOnHost: (lab: Lab, host: string, argv: readonly string[]) => Promise<{ stdout: string; stderr: string; exitCode: number }>;
  readonly hostProcesses: (lab: Lab, host: string) => Promise<{ pid: number; args: string }[]>;
  readonly spawnOnHost: (lab: Lab, host: string, argv: readonly string[]) => ChildProcess & AsyncDisposable;
}
const LAB_MODULE: string = '@lazycluster/lab';
const { readLab, execOnHost, hostProcesses, spawnOnHost } = (await import(LAB_MODULE)) as LabApi;

const run = promisify(execFile);

// Runs on the manager with the cluster's env: `Client()` finds the scheduler by itself.
const WHERE_TASKS_RAN = `
import json
from distributed import Client, get_worker

def where(i):
    return get_worker().name

with Client(timeout=30) as client:
    print(json.dumps(client.gather(client.map(where, range(100), pure=False))))
`;

/** The worker name of each of 100 tasks mapped by Python on the manager. */
async function mapOnCluster(cluster: DaskCluster): Promise<string[]> {
  const { stdout } = await run('/usr/bin/python3', ['-c', WHERE_TASKS_RAN], { env: { ...process.env, ...cluster.env }, timeout: 60_000 });
  return JSON.parse(stdout) as string[];
}

/** `h2-4` ran on h2. */
function hostOf(workerName: string): string {
  return workerName.slice(0, workerName.lastIndexOf('-'));
}

/** Polls `check` with a short backoff until it returns true; observes, never sleeps a fixed time. */
async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let pause = 10; ; pause = Math.min(pause * 2, 250)) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}

/** Listeners on `ports`, each with the processes that hold it, from `ss -Htlnp` output. */
function listenersOn(ssOutput: string, ports: readonly number[]): { port: number; holders: string }[] {
  return ssOutput.split('\n').flatMap((line) => {
    const fields = line.trim().split(/\s+/);
    const local = fields[3] ?? '';
    const port = Number(local.slice(local.lastIndexOf(':') + 1));
    return ports.includes(port) ? [{ port, holders: fields.slice(5).join(' ') }] : [];
  });
}

/**
 * A run of ports that starts at one the OS just handed out, so that test runs on the same
 * manager (whose loopback they share) do not all reach for 8786 and 61001 at once.
 */
async function portsFromOs(count = 30): Promise<{ masterPort: number; ports: number[] }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const first = Math.min((server.address() as AddressInfo).port, 65_535 - count);
  await new Promise((resolve) => server.close(resolve));
  return { masterPort: first, ports: Array.from({ length: count - 1 }, (_, i) => first + 1 + i) };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** What a cluster started: every pid and port, collected from its events. */
interface Footprint {
  readonly pids: number[];
  readonly ports: number[];
}

function track(cluster: DaskCluster): Footprint {
  const footprint: Footprint = { pids: [], ports: [] };
  cluster.on('master-started', ({ pid, port }) => {
    footprint.pids.push(pid);
    footprint.ports.push(port);
  });
  cluster.on('worker-started', ({ pid, port }) => {
    footprint.pids.push(pid);
    footprint.ports.push(port);
  });
  return footprint;
}

/**
 * None of the footprint's processes runs, and none of its ports is held by them or by a tunnel:
 * this process on the manager, an sshd session on a host. (Other test files share the lab and
 * the manager, so ports held by their processes are not ours to judge.)
 */
async function expectNothingLeft(lab: Lab, footprint: Footprint): Promise<void> {
  const ours = (holders: string): boolean => footprint.pids.some((pid) => holders.includes(`pid=${pid},`));
  expect(footprint.pids.filter(isAlive)).toEqual([]);
  const { stdout } = await run('ss', ['-H', '-t', '-l', '-n', '-p']);
  const onManager = listenersOn(stdout, footprint.ports).filter(({ holders }) => ours(holders) || holders.includes(`pid=${process.pid},`));
  expect(onManager, 'listeners left on the manager').toEqual([]);
  for (const { name } of lab.hosts) {
    expect((await hostProcesses(lab, name)).filter((p) => footprint.pids.includes(p.pid)), `processes left on ${name}`).toEqual([]);
    const ss = await execOnHost(lab, name, ['ss', '-H', '-t', '-l', '-n', '-p']);
    const onHost = listenersOn(ss.stdout, footprint.ports).filter(({ holders }) => ours(holders) || holders.includes('"sshd"'));
    expect(onHost, `listeners left on ${name}`).toEqual([]);
  }
}

const lab = await readLab();
// The expectations below are written for three hosts, h1..h3 (the lab's default).
const hostNames = lab.hosts.slice(0, 3).map((host) => host.name);
const newGroup = (): RuntimeGroup => new RuntimeGroup({ hosts: hostNames, sshConfigPath: lab.sshConfigPath });

describe('DaskCluster over tunnels on the lab hosts', () => {
  let cluster: DaskCluster;
  let client: DaskClient;
  let footprint: Footprint;

  beforeAll(async () => {
    const { masterPort, ports } = await portsFromOs();
    cluster = new DaskCluster(newGroup(), { ports, worker: { nthreads: 2 } });
    footprint = track(cluster);
    await cluster.start({ masterPort });
    client = await cluster.getClient({ timeoutMs: 5000 });
  });

  afterAll(async () => {
    await client.close();
    await cluster.cleanup();
  });

  it('starts the scheduler on the manager and one worker per host with the requested threads', async () => {
    expect(cluster.schedulerAddress).toBe(`tcp://127.0.0.1:${cluster.masterPort}`);
    expect(cluster.env).toEqual({ DASK_SCHEDULER_ADDRESS: cluster.schedulerAddress });
    const identity = await client.identity();
    const dashboard = identity.services.dashboard;
    expect(cluster.dashboardLink).toBe(dashboard === undefined ? undefined : `http://127.0.0.1:${dashboard}/status`);

    const workers = await client.workers();
    expect(workers.map((w) => w.name).sort()).toEqual(hostNames.map((host, i) => `${host}-${i}`));
    for (const worker of workers) {
      expect(worker).toMatchObject({ nthreads: 2, status: 'running', nanny: null });
      expect(worker.address).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
      expect(worker.localDirectory).toMatch(/^\/tmp\/lazycluster-/);
    }
    expect(cluster.status().workersPerHost).toEqual(Object.fromEntries(hostNames.map((host) => [host, 1])));

    // Worker ports are tunnelled to the manager (listeners of this process) and to the other hosts (sshd).
    const workerPorts = cluster.status().ports.workers;
    const { stdout } = await run('ss', ['-H', '-t', '-l', '-n', '-p']);
    const tunnelled = listenersOn(stdout, workerPorts).filter(({ holders }) => holders.includes(`pid=${process.pid},`));
    expect(tunnelled.map(({ port }) => port).sort()).toEqual([...workerPorts].sort());
    const onH1 = listenersOn((await execOnHost(lab, 'h1', ['ss', '-H', '-t', '-l', '-n', '-p'])).stdout, [cluster.masterPort ?? 0, ...workerPorts]);
    expect(onH1.filter(({ holders }) => holders.includes('"sshd"')).map(({ port }) => port).sort()).toEqual(
      [cluster.masterPort ?? 0, ...workerPorts.filter((port) => port !== cluster.status().workers.find((w) => w.host === 'h1')?.port)].sort(),
    );
  });

  it('runs a Python map of 100 items from the manager on workers of every host', async () => {
    const names = await mapOnCluster(cluster);
    expect(names).toHaveLength(100);
    expect(new Set(names.map(hostOf))).toEqual(new Set(hostNames));
  });

  it('scales up to 5 workers round-robin, then down to 2', async () => {
    await cluster.scale(5);
    expect((await client.workers()).map((w) => w.name).sort()).toEqual(['h1-0', 'h1-3', 'h2-1', 'h2-4', 'h3-2']);
    expect(cluster.status().workersPerHost).toEqual({ h1: 2, h2: 2, h3: 1 });

    await cluster.scale(2);
    expect(cluster.status().workers.map((w) => w.index)).toEqual([0, 1]);
    await eventually('the scheduler lists 2 workers', async () => (await client.workers()).length === 2);
    expect((await client.workers()).map((w) => w.name).sort()).toEqual(['h1-0', 'h2-1']);
    expect(new Set((await mapOnCluster(cluster)).map(hostOf))).toEqual(new Set(['h1', 'h2']));
  });

  it('reports a worker killed on its host and keeps computing with the others', async () => {
    const victim = cluster.status().workers.find((w) => w.index === 1);
    if (victim === undefined) throw new Error('worker 1 is not running');
    const exited = new Promise((resolve) => {
      const stop = cluster.on('worker-exited', (event) => {
        if (event.index !== victim.index) return;
        stop();
        resolve(event);
      });
    });
    const killed = await execOnHost(lab, victim.host, ['kill', '-9', String(victim.pid)]);
    expect(killed.exitCode).toBe(0);

    expect(await exited).toMatchObject({ host: victim.host, index: 1, signal: 'SIGKILL', expected: false });
    expect(cluster.status().workers.map((w) => w.index)).toEqual([0]);
    await eventually('the scheduler drops the killed worker', async () => (await client.workers()).length === 1);
    expect(new Set(await mapOnCluster(cluster))).toEqual(new Set(['h1-0']));
  });

  it('leaves no scheduler, worker or tunnel on any host or on the manager after cleanup', async () => {
    expect(footprint.pids.length).toBeGreaterThanOrEqual(6);
    await client.close();
    await cluster.cleanup();
    await cluster.cleanup();
    expect(cluster.schedulerAddress).toBeUndefined();
    await expectNothingLeft(lab, footprint);
  });
});

describe('DaskCluster start failures', () => {
  it('rejects with PORT_IN_USE naming the host when the master port is taken on a runtime', async () => {
    const hold = 'import socket, signal; s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(); print(s.getsockname()[1], flush=True); signal.pause()';
    await using holder = spawnOnHost(lab, 'h2', ['/usr/bin/python3', '-c', hold]);
    const [chunk] = (await once(holder.stdout!, 'data')) as [Buffer];
    const port = Number(chunk.toString().trim());

    await using cluster = new DaskCluster(newGroup());
    const error: unknown = await cluster.start({ masterPort: port }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PortInUseError);
    expect(error).toMatchObject({ code: 'PORT_IN_USE', port, hosts: ['h2'] });
  });

  it("rejects with MASTER_START and the scheduler's stderr when the scheduler exits at start", async () => {
    const { masterPort, ports } = await portsFromOs();
    await using cluster = new DaskCluster(newGroup(), { ports, scheduler: { extraArgs: ['--no-such-option'] } });
    const error: unknown = await cluster.start({ masterPort }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MasterStartError);
    expect(error).toMatchObject({ code: 'MASTER_START', host: 'localhost', port: masterPort, reason: 'exited' });
    expect((error as MasterStartError).stderrTail).toContain('No such option: --no-such-option');
  });

  it('getClient rejects with TIMEOUT once the scheduler is gone', async () => {
    const { masterPort, ports } = await portsFromOs();
    await using cluster = new DaskCluster(newGroup(), { ports });
    await cluster.start({ masterPort, workerCount: 0 });
    const scheduler = cluster.status().master;
    if (scheduler === undefined) throw new Error('no scheduler');
    const exited = new Promise((resolve) => cluster.on('master-exited', resolve));
    process.kill(scheduler.pid, 'SIGKILL');
    expect(await exited).toMatchObject({ expected: false, signal: 'SIGKILL' });

    const started = Date.now();
    const error: unknown = await cluster.getClient({ timeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ code: 'TIMEOUT', operation: 'getClient', timeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('fails with INVALID_RUNTIME naming the host when its python cannot import dask, leaving nothing running', async () => {
    const { masterPort, ports } = await portsFromOs();
    await using cluster = new DaskCluster(newGroup(), { ports, worker: { python: 'python3' } });
    const footprint = track(cluster);
    const error: unknown = await cluster.start({ masterPort }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DaskNotInstalledError);
    const { host, message } = error as DaskNotInstalledError;
    expect(hostNames).toContain(host);
    expect(message).toContain(`Dask cannot run on ${host}`);
    expect(message).toContain("python3 has no 'distributed' module");
    expect(message).toContain('apt install python3-distributed');
    expect(message).toContain('worker.python');
    expect(cluster.isCleanedUp).toBe(true);
    await expectNothingLeft(lab, footprint);
  });
});

describe('DaskCluster in direct mode', () => {
  it("runs the scheduler on the manager's lab address and workers on their hosts' addresses, with no tunnels", async () => {
    const { masterPort, ports } = await portsFromOs();
    await using cluster = new DaskCluster(newGroup(), { network: 'direct', ports, worker: { nthreads: 1 } });
    const footprint = track(cluster);
    await cluster.start({ masterPort });
    expect(cluster.schedulerAddress).toBe(`tcp://${lab.managerAddress}:${cluster.masterPort}`);

    await using client = await cluster.getClient({ timeoutMs: 5000 });
    const workers = await client.workers();
    const expected = cluster.status().workers.map(({ host, port }) => `tcp://${lab.hosts.find((h) => h.name === host)?.address ?? '?'}:${port}`);
    expect(workers.map((w) => w.address).sort()).toEqual(expected.sort());
    expect(workers.every((w) => w.nthreads === 1)).toBe(true);

    const { stdout: ss } = await run('ss', ['-H', '-t', '-l', '-n', '-p']);
    const tunnels = listenersOn(ss, cluster.status().ports.workers).filter(({ holders }) => holders.includes(`pid=${process.pid},`));
    expect(tunnels, 'worker tunnels on the manager').toEqual([]);
    for (const { name } of lab.hosts) {
      const onHost = listenersOn((await execOnHost(lab, name, ['ss', '-H', '-t', '-l', '-n', '-p'])).stdout, [masterPort]);
      expect(onHost.filter(({ holders }) => holders.includes('"sshd"')), `scheduler tunnel on ${name}`).toEqual([]);
    }
    expect(new Set((await mapOnCluster(cluster)).map(hostOf))).toEqual(new Set(hostNames));

    await client.close();
    await cluster.cleanup();
    await expectNothingLeft(lab, footprint);
  });
});
