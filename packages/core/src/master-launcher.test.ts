import { PassThrough } from 'node:stream';
import { NoPortsLeftError, PortInUseError, PortLeases } from '@lazycluster/ports';
import { describe, expect, it } from 'vitest';
import { FakeGroup, FakeMasterLauncher } from '../test/fakes.js';
import { MasterStartError } from './errors.js';
import type { ClusterEvents } from './events.js';

function setup(hosts = ['h1', 'h2']): { group: FakeGroup; master: FakeMasterLauncher; leases: PortLeases } {
  const group = new FakeGroup(hosts);
  const leases = new PortLeases();
  return { group, master: new FakeMasterLauncher(group, { leases }), leases };
}

describe('MasterLauncher port choice', () => {
  it('takes the first candidate free on every runtime and the manager, asking each host once', async () => {
    const { group, master } = setup();
    group.runtime('h1').busy.add(7000);
    group.runtime('h2').busy.add(7001);
    group.world.managerBusy.add(7002);
    await using _ = master;
    const remaining = await master.start([7000, 7001, 7002, 7003, 7004]);
    expect(master.port).toBe(7003);
    expect(remaining).toEqual([7004]);
    expect([group.runtime('h1').probeCount, group.runtime('h2').probeCount, group.world.managerProbeCount]).toEqual([1, 1, 1]);
  });

  it('returns no ports when given a single free port', async () => {
    const { master } = setup();
    await using _ = master;
    expect(await master.start(7100)).toEqual([]);
    expect(master.port).toBe(7100);
  });

  it('rejects with PORT_IN_USE naming the host when a single port is taken, launching nothing', async () => {
    const { group, master } = setup();
    group.runtime('h2').busy.add(7200);
    const error = await master.start(7200).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PortInUseError);
    expect((error as PortInUseError).hosts).toEqual(['h2']);
    expect(master.launched).toEqual([]);
    expect(master.port).toBeUndefined();
  });

  it('rejects with PORT_IN_USE when the port is busy on the manager only', async () => {
    const { group, master } = setup();
    group.world.managerBusy.add(7201);
    await expect(master.start(7201)).rejects.toMatchObject({ code: 'PORT_IN_USE', hosts: ['localhost'] });
  });

  it('rejects with NO_PORTS_LEFT when no candidate is free everywhere', async () => {
    const { group, master } = setup();
    group.runtime('h1').busy.add(7300);
    group.world.managerBusy.add(7301);
    const error = await master.start([7300, 7301]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoPortsLeftError);
    expect((error as NoPortsLeftError).blocked).toMatchObject({ h1: [7300], localhost: [7301] });
    expect(master.launched).toEqual([]);
  });

  it('never hands out a port another launcher of the process holds', async () => {
    const group = new FakeGroup(['h1']);
    const leases = new PortLeases();
    await using first = new FakeMasterLauncher(group, { leases });
    await using second = new FakeMasterLauncher(group, { leases });
    await Promise.all([first.start([7400, 7401]), second.start([7400, 7401])]);
    expect([first.port, second.port].sort()).toEqual([7400, 7401]);
  });
});

describe('MasterLauncher start', () => {
  it('exposes a master on the manager on every runtime and reports master-started', async () => {
    const { group, master } = setup();
    const started: ClusterEvents['master-started'][] = [];
    master.on('master-started', (event) => started.push(event));
    await using _ = master;
    await master.start(7500);
    expect(group.world.tunnelList()).toEqual(['h1:7500', 'h2:7500']);
    expect(started).toEqual([{ host: 'localhost', port: 7500, pid: master.process?.pid }]);
    expect(master.running).toBe(true);
  });

  it('exposes a master on a runtime on the manager and the other runtimes', async () => {
    const group = new FakeGroup(['h1', 'h2', 'h3']);
    await using master = new FakeMasterLauncher(group, { host: 'h2' });
    await master.start(7501);
    expect(group.world.tunnelList()).toEqual(['h1:7501', 'h3:7501', 'localhost:7501']);
  });

  it('rejects with MASTER_START carrying the stderr tail when the master exits early, and frees the port', async () => {
    const { group, master, leases } = setup();
    master.behaviour = 'exit';
    const error = await master.start(7600).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MasterStartError);
    expect(error).toMatchObject({ code: 'MASTER_START', host: 'localhost', port: 7600, reason: 'exited', exitCode: 3 });
    expect((error as MasterStartError).stderrTail).toContain('address already in use');
    expect(leases.isLeased(7600)).toBe(false);
    expect(group.world.tunnelList()).toEqual([]);
    expect(master.port).toBeUndefined();
    expect(master.cleanups).toBe(1);
  });

  it('rejects with MASTER_START after timeoutMs and stops the master that never got ready', async () => {
    const { master, leases } = setup();
    master.behaviour = 'hang';
    const error = await master.start(7601, { timeoutMs: 30 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'MASTER_START', reason: 'timeout', timeoutMs: 30 });
    expect(master.launched).toHaveLength(1);
    expect(master.launched[0]?.running).toBe(false);
    expect(leases.isLeased(7601)).toBe(false);
  });

  it('wraps a launch that throws in MASTER_START with the cause', async () => {
    const { master } = setup();
    master.behaviour = 'throw';
    const error = await master.start(7602).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'MASTER_START', reason: 'failed' });
    expect(((error as Error).cause as Error).message).toContain('cannot run master');
  });

  it('rejects with the abort reason when cancelled, leaving nothing running', async () => {
    const { master, leases } = setup();
    master.behaviour = 'hang';
    const controller = new AbortController();
    const starting = master.start(7603, { signal: controller.signal });
    await new Promise((resolve) => setImmediate(resolve));
    controller.abort(new Error('user gave up'));
    await expect(starting).rejects.toThrow('user gave up');
    expect(master.launched.every((p) => !p.running)).toBe(true);
    expect(leases.isLeased(7603)).toBe(false);
  });

  it('refuses a second start while a master runs', async () => {
    const { master } = setup();
    await using _ = master;
    await master.start(7604);
    await expect(master.start(7605)).rejects.toThrow('already started');
  });

  it('echoes the master output with a host prefix when debug is on', async () => {
    const group = new FakeGroup(['h1']);
    const out = new PassThrough();
    const lines: string[] = [];
    out.on('data', (chunk: Buffer) => lines.push(chunk.toString()));
    await using master = new FakeMasterLauncher(group, { output: out });
    await master.start(7606, { debug: true });
    expect(lines.join('')).toContain('[localhost master] ready');
  });
});

describe('MasterLauncher cleanup', () => {
  it('stops the master, closes its tunnels and releases its port', async () => {
    const { group, master, leases } = setup();
    await master.start(7700);
    const proc = master.process;
    await master.cleanup();
    expect(proc?.running).toBe(false);
    expect(proc?.signals).toEqual(['SIGTERM']);
    expect(group.world.tunnelList()).toEqual([]);
    expect(leases.isLeased(7700)).toBe(false);
    expect(master.port).toBeUndefined();
  });

  it('runs once for concurrent calls and is harmless afterwards', async () => {
    const { master } = setup();
    await master.start(7701);
    await Promise.all([master.cleanup(), master.cleanup(), master.cleanup()]);
    expect(master.cleanups).toBe(1);
    await master.cleanup();
    expect(master.launched[0]?.signals).toEqual(['SIGTERM']);
  });

  it('forces a master that ignores SIGTERM with SIGKILL after the grace time', async () => {
    const { master } = setup();
    await master.start(7702);
    const proc = master.process;
    if (proc === undefined) throw new Error('no process');
    proc.obeysSigterm = false;
    await master.cleanup();
    expect(proc.signals).toEqual(['SIGTERM', 'SIGKILL']);
  });

  it('reports an unexpected master exit, and an expected one at cleanup', async () => {
    const { master } = setup();
    const exits: boolean[] = [];
    master.on('master-exited', (event) => exits.push(event.expected));
    await master.start(7703);
    master.process?.exit(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(exits).toEqual([false]);
    await master.cleanup();
    await master.start(7703);
    await master.cleanup();
    expect(exits).toEqual([false, true]);
  });

  it('cancels a start that is still choosing its port, launching nothing', async () => {
    const { group, master } = setup();
    let answer!: () => void;
    const probe = group.runtime('h1').portProbe();
    group.runtime('h1').portProbe = () => ({
      host: 'h1',
      busyPorts: async (candidates) => {
        await new Promise<void>((resolve) => (answer = resolve));
        return await probe.busyPorts(candidates);
      },
    });
    const starting = master.start(7705);
    await new Promise((resolve) => setImmediate(resolve));
    const cleaning = master.cleanup();
    answer();
    await cleaning;
    await expect(starting).rejects.toThrow('being cleaned up');
    expect(master.launched).toEqual([]);
  });

  it('cancels a start that is still waiting', async () => {
    const { master } = setup();
    master.behaviour = 'hang';
    const starting = master.start(7704);
    await new Promise((resolve) => setImmediate(resolve));
    await master.cleanup();
    await expect(starting).rejects.toThrow('being cleaned up');
    expect(master.launched.every((p) => !p.running)).toBe(true);
  });
});
