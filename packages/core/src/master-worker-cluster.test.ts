import { NoPortsLeftError, PortInUseError, PortLeases } from '@lazycluster/ports';
import { describe, expect, it } from 'vitest';
import { FakeGroup, FakeMasterLauncher, FakeWorkerLauncher, running } from '../test/fakes.js';
import { NoReachableHostsError, WorkerStartError } from './errors.js';
import type { ClusterEvents } from './events.js';
import { MasterWorkerCluster, type HostFailurePolicy } from './master-worker-cluster.js';

class TestCluster extends MasterWorkerCluster {
  static override DEFAULT_MASTER_PORT = 7000;
  static override DEFAULT_PORT_RANGE_START = 7001;
  static override DEFAULT_PORT_RANGE_END = 7011;
}

type Recorded = { [K in keyof ClusterEvents]: { event: K; payload: ClusterEvents[K] } }[keyof ClusterEvents];

function build(hosts: string[], options: { ports?: number[]; hostFailurePolicy?: HostFailurePolicy } = {}) {
  const group = new FakeGroup(hosts);
  const leases = new PortLeases();
  const master = new FakeMasterLauncher(group, { leases });
  const workers = new FakeWorkerLauncher(group, { leases });
  const cluster = new TestCluster(group.asGroup, { masterLauncher: master, workerLauncher: workers, ...options });
  const events: Recorded[] = [];
  const names: (keyof ClusterEvents)[] = ['master-started', 'master-exited', 'worker-started', 'worker-exited', 'host-skipped', 'cleanup-started', 'cleanup-done'];
  for (const event of names) cluster.on(event, (payload: ClusterEvents[typeof event]) => events.push({ event, payload } as Recorded));
  return { group, leases, master, workers, cluster, events };
}

const names = (events: readonly Recorded[]): string[] => events.map((e) => e.event);

describe('MasterWorkerCluster master port choice', () => {
  it('uses the class default when it is free everywhere and hands the whole list to the workers', async () => {
    const { cluster } = build(['h1', 'h2']);
    await using _ = cluster;
    await cluster.start();
    expect(cluster.masterPort).toBe(7000);
    expect(cluster.status().ports).toEqual({ master: 7000, workers: [7001, 7002], available: [7003, 7004, 7005, 7006, 7007, 7008, 7009, 7010] });
  });

  it('falls back to the first free port of the list when the default is busy on one host', async () => {
    const { group, cluster } = build(['h1', 'h2']);
    group.runtime('h2').busy.add(7000);
    group.runtime('h1').busy.add(7001);
    await using _ = cluster;
    await cluster.start();
    expect(cluster.masterPort).toBe(7002);
    expect(cluster.status().ports.workers).toEqual([7003, 7004]);
  });

  it('falls back when the default is busy on the manager only', async () => {
    const { group, cluster } = build(['h1']);
    group.world.managerBusy.add(7000);
    await using _ = cluster;
    await cluster.start({ workerCount: 0 });
    expect(cluster.masterPort).toBe(7001);
  });

  it('uses an explicit free master port and keeps the rest of the list for the workers', async () => {
    const { cluster } = build(['h1'], { ports: [9001, 9002, 9003] });
    await using _ = cluster;
    await cluster.start({ masterPort: 9002 });
    expect(cluster.masterPort).toBe(9002);
    expect(cluster.status().ports.workers).toEqual([9001]);
  });

  it('rejects with PORT_IN_USE when the explicit master port is taken, and leaves nothing behind', async () => {
    const { group, master, cluster } = build(['h1', 'h2']);
    group.runtime('h1').busy.add(7005);
    const error = await cluster.start({ masterPort: 7005 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PortInUseError);
    expect((error as PortInUseError).hosts).toEqual(['h1']);
    expect(master.launched).toEqual([]);
    expect(group.cleanedUp).toBe(1);
    expect(cluster.isCleanedUp).toBe(true);
  });

  it('rejects with NO_PORTS_LEFT when neither the default nor any listed port is free', async () => {
    const { group, cluster } = build(['h1'], { ports: [9101, 9102] });
    for (const port of [7000, 9101, 9102]) group.runtime('h1').busy.add(port);
    await expect(cluster.start()).rejects.toBeInstanceOf(NoPortsLeftError);
  });

  it('rejects with NO_PORTS_LEFT when the master took the last port and workers need one', async () => {
    const { group, master, cluster } = build(['h1'], { ports: [9201] });
    group.runtime('h1').busy.add(7000);
    await expect(cluster.start()).rejects.toMatchObject({ code: 'NO_PORTS_LEFT', needed: 1 });
    expect(running(master.launched)).toEqual([]);
  });

  it('reads the defaults through the subclass', () => {
    const { cluster } = build(['h1']);
    expect(cluster.ports).toEqual([7001, 7002, 7003, 7004, 7005, 7006, 7007, 7008, 7009, 7010]);
    expect(MasterWorkerCluster.DEFAULT_MASTER_PORT).toBe(61_000);
    return cluster.cleanup();
  });
});

describe('MasterWorkerCluster start', () => {
  it('starts one worker per runtime by default, reporting master then workers', async () => {
    const { cluster, events } = build(['h1', 'h2', 'h3']);
    await using _ = cluster;
    await cluster.start();
    const status = cluster.status();
    expect(status.master).toMatchObject({ host: 'localhost', port: 7000 });
    expect(status.workers.map((w) => w.host)).toEqual(['h1', 'h2', 'h3']);
    expect(status.workersPerHost).toEqual({ h1: 1, h2: 1, h3: 1 });
    expect(names(events)).toEqual(['master-started', 'worker-started', 'worker-started', 'worker-started']);
  });

  it('removes the master and the started workers when one worker fails, and rethrows its error', async () => {
    const { group, master, workers, cluster, events, leases } = build(['h1', 'h2', 'h3']);
    workers.behaviourOf = (index) => (index === 2 ? 'exit' : 'ready');
    const error = await cluster.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerStartError);
    expect(error).toMatchObject({ index: 2, host: 'h3' });
    expect(running(master.launched)).toEqual([]);
    expect(running(workers.launched)).toEqual([]);
    expect(workers.launched).toHaveLength(3);
    expect(group.world.tunnelList()).toEqual([]);
    expect(leases.size).toBe(0);
    expect(group.cleanedUp).toBe(1);
    const cleanup = events.find((e) => e.event === 'cleanup-started');
    expect(cleanup?.payload).toEqual({ reason: 'start-failed' });
  });

  it('removes the master when the master fails to get ready', async () => {
    const { master, workers, cluster } = build(['h1']);
    master.behaviour = 'hang';
    await expect(cluster.start({ timeoutMs: 20 })).rejects.toMatchObject({ code: 'MASTER_START', reason: 'timeout' });
    expect(running(master.launched)).toEqual([]);
    expect(workers.launched).toEqual([]);
  });

  it('cannot be started twice', async () => {
    const { cluster } = build(['h1']);
    await using _ = cluster;
    await cluster.start();
    await expect(cluster.start()).rejects.toThrow('already been started');
  });

  it('refuses launchers built on another group', () => {
    const group = new FakeGroup(['h1']);
    const other = new FakeGroup(['h1']);
    expect(
      () => new TestCluster(group.asGroup, { masterLauncher: new FakeMasterLauncher(other), workerLauncher: new FakeWorkerLauncher(group) }),
    ).toThrow(TypeError);
  });
});

describe('MasterWorkerCluster host failure policy', () => {
  it("fails the start with the unreachable host's own error under 'fail', starting nothing", async () => {
    const { group, master, cluster } = build(['h1', 'h2']);
    const refused = Object.assign(new Error('Cannot connect to h2: ECONNREFUSED'), { host: 'h2' });
    group.runtime('h2').connectError = refused;
    await expect(cluster.start()).rejects.toBe(refused);
    expect(master.launched).toEqual([]);
    expect(group.cleanedUp).toBe(1);
  });

  it("drops an unreachable host under 'skip', reports it, and starts on the others", async () => {
    const { group, cluster, events } = build(['h1', 'h2', 'h3'], { hostFailurePolicy: 'skip' });
    group.runtime('h2').connectError = new Error('Cannot connect to h2: ETIMEDOUT');
    await using _ = cluster;
    await cluster.start();
    expect(group.hosts).toEqual(['h1', 'h3']);
    expect(events[0]).toMatchObject({ event: 'host-skipped', payload: { host: 'h2', reason: 'Cannot connect to h2: ETIMEDOUT' } });
    expect(cluster.status().workersPerHost).toEqual({ h1: 1, h3: 1 });
  });

  it("fails with NO_RUNTIMES_DETECTED under 'skip' when no host is reachable", async () => {
    const { group, cluster } = build(['h1', 'h2'], { hostFailurePolicy: 'skip' });
    for (const runtime of group.runtimes) runtime.connectError = new Error(`down: ${runtime.host}`);
    const error = await cluster.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoReachableHostsError);
    expect((error as NoReachableHostsError).failures).toEqual([
      { host: 'h1', reason: 'down: h1' },
      { host: 'h2', reason: 'down: h2' },
    ]);
  });
});

describe('MasterWorkerCluster at run time', () => {
  it('grows and shrinks with scale(), placing new workers round-robin', async () => {
    const { cluster } = build(['h1', 'h2']);
    await using _ = cluster;
    await cluster.start();
    await cluster.scale(5);
    expect(cluster.status().workersPerHost).toEqual({ h1: 3, h2: 2 });
    await cluster.scale(1);
    expect(cluster.status().workers.map((w) => [w.index, w.host])).toEqual([[0, 'h1']]);
    await expect(cluster.scale(-1)).rejects.toThrow(RangeError);
  });

  it('stays up when a worker dies, reporting it as unexpected', async () => {
    const { master, workers, cluster, events } = build(['h1', 'h2']);
    await using _ = cluster;
    await cluster.start();
    workers.launched[1]?.exit(1);
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(events.at(-1)).toEqual({ event: 'worker-exited', payload: { host: 'h2', port: 7002, index: 1, exitCode: 1, signal: null, expected: false } });
    expect(cluster.status().workers.map((w) => w.index)).toEqual([0]);
    expect(master.running).toBe(true);
  });

  it('writes the group log with printLog', async () => {
    const { cluster } = build(['h1', 'h2']);
    const chunks: string[] = [];
    cluster.printLog({ write: (chunk: string) => chunks.push(chunk) > 0 } as unknown as NodeJS.WritableStream);
    expect(chunks).toEqual(['log of h1,h2\n']);
    await cluster.cleanup();
  });
});

describe('MasterWorkerCluster cleanup', () => {
  it('stops workers, then the master, then cleans up the group, once for concurrent calls', async () => {
    const { group, master, workers, cluster, events } = build(['h1', 'h2']);
    await cluster.start();
    const order: string[] = [];
    cluster.on('worker-exited', () => order.push('worker'));
    cluster.on('master-exited', () => order.push('master'));
    await Promise.all([cluster.cleanup(), cluster.cleanup(), cluster[Symbol.asyncDispose]()]);
    expect(order).toEqual(['worker', 'worker', 'master']);
    expect(running([...master.launched, ...workers.launched])).toEqual([]);
    expect(group.world.tunnelList()).toEqual([]);
    expect(group.cleanedUp).toBe(1);
    expect(names(events).filter((n) => n.startsWith('cleanup'))).toEqual(['cleanup-started', 'cleanup-done']);
    await cluster.cleanup();
    expect(group.cleanedUp).toBe(1);
    await expect(cluster.start()).rejects.toThrow('cleaned up');
  });

  it('cancels a start in progress and removes what it had started', async () => {
    const { master, workers, cluster } = build(['h1', 'h2']);
    workers.behaviourOf = (index) => (index === 0 ? 'ready' : 'hang');
    const starting = cluster.start();
    while (workers.launched.length < 2) await new Promise((resolve) => setImmediate(resolve));
    await cluster.cleanup();
    await expect(starting).rejects.toThrow();
    expect(running([...master.launched, ...workers.launched])).toEqual([]);
  });

  it('reports a failing step in cleanup-done and still cleans up the group', async () => {
    const { group, cluster, master, events } = build(['h1']);
    await cluster.start();
    const proc = master.process!;
    proc.stop = async () => await Promise.reject(new Error('stop failed'));
    await cluster.cleanup();
    const done = events.find((e) => e.event === 'cleanup-done');
    expect(done?.event === 'cleanup-done' && done.payload.errors.map((e) => (e as Error).message)).toEqual(['stop failed']);
    expect(group.cleanedUp).toBe(1);
  });

  it('shares one set of process listeners between clusters and removes it with the last one', async () => {
    const events = ['SIGINT', 'SIGTERM', 'uncaughtException', 'beforeExit', 'exit'] as const;
    const count = (): number[] => events.map((event) => process.listenerCount(event));
    const before = count();
    const clusters = Array.from({ length: 20 }, () => build(['h1']).cluster);
    expect(count()).toEqual(before);
    await Promise.all(clusters.map(async (cluster) => await cluster.start()));
    expect(count()).toEqual(before.map((n) => n + 1));
    await Promise.all(clusters.slice(0, 10).map(async (cluster) => await cluster.cleanup()));
    expect(count()).toEqual(before.map((n) => n + 1));
    await Promise.all(clusters.slice(10).map(async (cluster) => await cluster.cleanup()));
    expect(count()).toEqual(before);
  });
});
