import { NoPortsLeftError, PortLeases } from '@lazycluster/ports';
import { describe, expect, it } from 'vitest';
import { FakeGroup, FakeWorkerLauncher, running } from '../test/fakes.js';
import { WorkerStartError } from './errors.js';
import type { ClusterEvents } from './events.js';

const MASTER_PORT = 60_000;

function setup(hosts = ['h1', 'h2', 'h3']): { group: FakeGroup; workers: FakeWorkerLauncher; leases: PortLeases } {
  const group = new FakeGroup(hosts);
  const leases = new PortLeases();
  return { group, workers: new FakeWorkerLauncher(group, { leases }), leases };
}

const ports = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('WorkerLauncher start', () => {
  it('places worker i on host i mod n and negotiates every port in one round', async () => {
    const { group, workers } = setup();
    await using _ = workers;
    const left = await workers.start(5, MASTER_PORT, ports(8000, 8));
    expect(workers.workers.map((w) => [w.index, w.host, w.port])).toEqual([
      [0, 'h1', 8000],
      [1, 'h2', 8001],
      [2, 'h3', 8002],
      [3, 'h1', 8003],
      [4, 'h2', 8004],
    ]);
    expect(left).toEqual([8005, 8006, 8007]);
    expect(workers.portsPerHost).toEqual({ h1: [8000, 8003], h2: [8001, 8004], h3: [8002] });
    expect(group.runtimes.map((r) => r.probeCount)).toEqual([1, 1, 1]);
    expect(group.world.managerProbeCount).toBe(1);
  });

  it('skips ports busy on any runtime or on the manager', async () => {
    const { group, workers } = setup(['h1', 'h2']);
    group.runtime('h2').busy.add(8100);
    group.world.managerBusy.add(8101);
    await using _ = workers;
    const left = await workers.start(2, MASTER_PORT, ports(8100, 5));
    expect(workers.workers.map((w) => w.port)).toEqual([8102, 8103]);
    expect(left).toEqual([8104]);
  });

  it('passes the master port to every worker', async () => {
    const { workers } = setup(['h1']);
    await using _ = workers;
    await workers.start(1, 61_234, ports(8150, 2));
    expect(workers.launched[0]?.command).toContain('--master 61234');
  });

  it('tunnels each worker port to the manager and every other runtime', async () => {
    const { group, workers } = setup(['h1', 'h2']);
    await using _ = workers;
    await workers.start(2, MASTER_PORT, ports(8200, 2));
    expect(group.world.tunnelList()).toEqual(['h1:8201', 'h2:8200', 'localhost:8200', 'localhost:8201']);
  });

  it('rejects with NO_PORTS_LEFT before launching anything when too few ports are free', async () => {
    const { group, workers, leases } = setup(['h1', 'h2']);
    group.runtime('h1').busy.add(8301);
    const error = await workers.start(3, MASTER_PORT, ports(8300, 3)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoPortsLeftError);
    expect((error as NoPortsLeftError).needed).toBe(3);
    expect(workers.launched).toEqual([]);
    expect(leases.size).toBe(0);
  });

  it('rejects with NO_PORTS_LEFT when the port list is used up', async () => {
    const { workers } = setup(['h1']);
    await expect(workers.start(1, MASTER_PORT, [])).rejects.toMatchObject({ code: 'NO_PORTS_LEFT' });
  });

  it('stops the other workers of the call when one exits early, and throws its WORKER_START', async () => {
    const { group, workers, leases } = setup();
    workers.behaviourOf = (index) => (index === 1 ? 'exit' : index === 2 ? 'hang' : 'ready');
    const error = await workers.start(3, MASTER_PORT, ports(8400, 3)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerStartError);
    expect(error).toMatchObject({ code: 'WORKER_START', index: 1, host: 'h2', port: 8401, reason: 'exited', exitCode: 3 });
    expect((error as WorkerStartError).stderrTail).toContain('address already in use');
    expect(running(workers.launched)).toEqual([]);
    expect(workers.workers).toEqual([]);
    expect(group.world.tunnelList()).toEqual([]);
    expect(leases.size).toBe(0);
  });

  it('throws WORKER_START with reason timeout when a worker is not ready in time', async () => {
    const { workers } = setup(['h1']);
    workers.behaviourOf = () => 'hang';
    await expect(workers.start(1, MASTER_PORT, ports(8500, 1), { timeoutMs: 20 })).rejects.toMatchObject({ code: 'WORKER_START', reason: 'timeout', index: 0 });
    expect(running(workers.launched)).toEqual([]);
  });

  it('can be started again after a failed start', async () => {
    const { workers } = setup(['h1']);
    workers.behaviourOf = () => 'throw';
    await expect(workers.start(1, MASTER_PORT, ports(8550, 2))).rejects.toMatchObject({ code: 'WORKER_START', reason: 'failed' });
    workers.behaviourOf = () => 'ready';
    await using _ = workers;
    await workers.start(1, MASTER_PORT, ports(8550, 2));
    expect(workers.workers.map((w) => w.port)).toEqual([8550]);
  });

  it('uses the placement a subclass chooses', async () => {
    const { workers } = setup();
    workers.placement = (_index, hosts) => hosts[hosts.length - 1] ?? '';
    await using _ = workers;
    await workers.start(2, MASTER_PORT, ports(8600, 2));
    expect(workers.workers.map((w) => w.host)).toEqual(['h3', 'h3']);
  });

  it('rejects a placement on a host outside the group without launching anything', async () => {
    const { workers, leases } = setup(['h1']);
    workers.placement = () => 'nowhere';
    await expect(workers.start(1, MASTER_PORT, ports(8650, 1))).rejects.toMatchObject({ code: 'INVALID_RUNTIME' });
    expect(workers.launched).toEqual([]);
    expect(leases.size).toBe(0);
  });
});

describe('WorkerLauncher scaling and exits', () => {
  it('adds workers at the lowest free indexes with the ports left over', async () => {
    const { workers } = setup(['h1', 'h2']);
    await using _ = workers;
    await workers.start(2, MASTER_PORT, ports(8700, 6));
    const added = await workers.addWorkers(2);
    expect(added.map((w) => [w.index, w.host, w.port])).toEqual([
      [2, 'h1', 8702],
      [3, 'h2', 8703],
    ]);
    expect(workers.portsLeft).toEqual([8704, 8705]);
  });

  it('removes the workers with the highest indexes, reporting expected exits and giving their ports back', async () => {
    const { group, workers, leases } = setup(['h1', 'h2']);
    const exits: ClusterEvents['worker-exited'][] = [];
    workers.on('worker-exited', (event) => exits.push(event));
    await using _ = workers;
    await workers.start(3, MASTER_PORT, ports(8800, 4));
    await workers.removeWorkers(2);
    expect(workers.workers.map((w) => w.index)).toEqual([0]);
    expect(exits.map((e) => [e.index, e.expected])).toEqual([
      [2, true],
      [1, true],
    ]);
    expect(group.world.tunnelList()).toEqual(['h2:8800', 'localhost:8800']);
    expect(leases.size).toBe(1);
    expect([...workers.portsLeft].sort()).toEqual([8801, 8802, 8803]);
    const again = await workers.addWorkers(1);
    expect(again.map((w) => [w.index, w.host])).toEqual([[1, 'h2']]);
  });

  it('refuses to remove more workers than run', async () => {
    const { workers } = setup(['h1']);
    await using _ = workers;
    await workers.start(1, MASTER_PORT, ports(8850, 1));
    await expect(workers.removeWorkers(2)).rejects.toThrow(RangeError);
  });

  it('reports a worker that dies on its own as unexpected and keeps the others', async () => {
    const { group, workers } = setup(['h1', 'h2']);
    const exits: ClusterEvents['worker-exited'][] = [];
    workers.on('worker-exited', (event) => exits.push(event));
    await using _ = workers;
    await workers.start(2, MASTER_PORT, ports(8900, 2));
    workers.launched[0]?.exit(137);
    await settle();
    expect(exits).toEqual([{ host: 'h1', port: 8900, index: 0, exitCode: 137, signal: null, expected: false }]);
    expect(workers.workers.map((w) => w.index)).toEqual([1]);
    expect(group.world.tunnelList()).toEqual(['h1:8901', 'localhost:8901']);
    expect(workers.launched[1]?.running).toBe(true);
  });

  it('lets a subclass declare an exit normal', async () => {
    const { workers } = setup(['h1']);
    workers.expectedExitCodes.add(0);
    const exits: boolean[] = [];
    workers.on('worker-exited', (event) => exits.push(event.expected));
    await using _ = workers;
    await workers.start(1, MASTER_PORT, ports(8950, 1));
    workers.launched[0]?.exit(0);
    await settle();
    expect(exits).toEqual([true]);
  });

  it('reports worker-started for every worker once all are ready', async () => {
    const { workers } = setup(['h1', 'h2']);
    const started: number[] = [];
    workers.on('worker-started', (event) => started.push(event.index));
    await using _ = workers;
    await workers.start(3, MASTER_PORT, ports(9000, 3));
    expect(started).toEqual([0, 1, 2]);
  });
});

describe('WorkerLauncher cleanup', () => {
  it('stops every worker, closes every tunnel and releases every port, once for concurrent calls', async () => {
    const { group, workers, leases } = setup();
    await workers.start(4, MASTER_PORT, ports(9100, 4));
    await Promise.all([workers.cleanup(), workers.cleanup()]);
    expect(running(workers.launched)).toEqual([]);
    expect(workers.launched.map((p) => p.signals)).toEqual([['SIGTERM'], ['SIGTERM'], ['SIGTERM'], ['SIGTERM']]);
    expect(group.world.tunnelList()).toEqual([]);
    expect(leases.size).toBe(0);
    expect(workers.masterPort).toBeUndefined();
  });

  it('cancels workers that are still starting', async () => {
    const { workers } = setup(['h1', 'h2']);
    workers.behaviourOf = (index) => (index === 0 ? 'ready' : 'hang');
    const starting = workers.start(2, MASTER_PORT, ports(9200, 2));
    await settle();
    await workers.cleanup();
    await expect(starting).rejects.toThrow('being cleaned up');
    expect(running(workers.launched)).toEqual([]);
  });
});
