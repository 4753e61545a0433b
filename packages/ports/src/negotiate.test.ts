import { describe, expect, it } from 'vitest';
import { freedPort, listen, portOf } from '../test/listen.js';
import { defaultPortLeases, PortLeases } from './leases.js';
import { managerProbe } from './local-ports.js';
import { negotiatePort, negotiatePorts, requirePort } from './negotiate.js';
import { NoPortsLeftError, PortInUseError } from './port-errors.js';
import type { PortProbe } from './probe.js';

/** A host whose busy ports are known; records every question it is asked. */
class MemoryProbe implements PortProbe {
  readonly calls: (readonly number[])[] = [];
  readonly signals: (AbortSignal | undefined)[] = [];
  constructor(
    readonly host: string,
    private readonly busy: readonly number[] = [],
  ) {}

  async busyPorts(candidates: readonly number[], options?: { signal?: AbortSignal }): Promise<ReadonlySet<number>> {
    this.calls.push([...candidates]);
    this.signals.push(options?.signal);
    // Answer on a later turn of the event loop, as a real host would.
    await new Promise((resolve) => setImmediate(resolve));
    // Deliberately more than was asked: negotiation must only consider its candidates.
    return new Set([...this.busy, 1]);
  }
}

/** A probe that answers only when the test says so. */
function deferredProbe(host: string) {
  let answer!: (busy: ReadonlySet<number>) => void;
  let fail!: (error: unknown) => void;
  const answered = new Promise<ReadonlySet<number>>((resolve, reject) => {
    answer = resolve;
    fail = reject;
  });
  const probe = {
    host,
    calls: 0,
    signal: undefined as AbortSignal | undefined,
    busyPorts(_candidates: readonly number[], options?: { signal?: AbortSignal }) {
      probe.calls++;
      probe.signal = options?.signal;
      return answered;
    },
    answer,
    fail,
  };
  return probe;
}

describe('negotiatePort', () => {
  it('picks the first candidate free on every host and hands back the candidates after it', async () => {
    const leases = new PortLeases();
    const result = await negotiatePort({
      candidates: [9000, 9001, 9002, 9003, 9004],
      probes: [new MemoryProbe('localhost', [9000]), new MemoryProbe('node-a', [9001, 9003])],
      leases,
    });
    expect(result.port).toBe(9002);
    expect(result.remaining).toEqual([9003, 9004]);
    expect(result.lease.port).toBe(9002);
    expect(leases.isLeased(9002)).toBe(true);
  });

  it('keeps the caller’s order of preference rather than numeric order', async () => {
    const result = await negotiatePort({ candidates: [9005, 9001, 9003], probes: [new MemoryProbe('a', [9005])], leases: new PortLeases() });
    expect(result.port).toBe(9001);
    expect(result.remaining).toEqual([9003]);
  });

  it('returns an empty remaining list when the last candidate is picked', async () => {
    const result = await negotiatePort({ candidates: [9000, 9001], probes: [new MemoryProbe('a', [9000])], leases: new PortLeases() });
    expect(result).toMatchObject({ port: 9001, remaining: [] });
  });

  it('asks each probe exactly once with all candidates, even when several ports are needed', async () => {
    const probes = [new MemoryProbe('a', [9000]), new MemoryProbe('b')];
    await negotiatePorts(2, { candidates: [9000, 9001, 9002], probes, leases: new PortLeases() });
    expect(probes.map((probe) => probe.calls)).toEqual([[[9000, 9001, 9002]], [[9000, 9001, 9002]]]);
  });

  it('asks all probes before any has answered', async () => {
    const a = deferredProbe('a');
    const b = deferredProbe('b');
    const pending = negotiatePort({ candidates: [9000, 9001], probes: [a, b], leases: new PortLeases() });
    expect([a.calls, b.calls]).toEqual([1, 1]);
    b.answer(new Set([9000]));
    a.answer(new Set());
    expect((await pending).port).toBe(9001);
  });

  it('does not ask excluded hosts, and their busy ports do not count', async () => {
    const excluded = new MemoryProbe('node-b', [9000]);
    const result = await negotiatePort({
      candidates: [9000, 9001],
      probes: [new MemoryProbe('node-a'), excluded],
      excludeHosts: ['node-b'],
      leases: new PortLeases(),
    });
    expect(result.port).toBe(9000);
    expect(excluded.calls).toEqual([]);
  });

  it('skips ports leased in this process and does not probe them', async () => {
    const leases = new PortLeases();
    leases.tryAcquire(9000, 'someone else');
    const probe = new MemoryProbe('a');
    const result = await negotiatePort({ candidates: [9000, 9001], probes: [probe], leases });
    expect(result.port).toBe(9001);
    expect(probe.calls).toEqual([[9001]]);
  });

  it('uses the process-wide leases by default', async () => {
    const { lease } = await negotiatePort({ candidates: [9000], probes: [] });
    try {
      expect(defaultPortLeases.isLeased(9000)).toBe(true);
    } finally {
      lease.release();
    }
    expect(defaultPortLeases.isLeased(9000)).toBe(false);
  });

  it('throws NoPortsLeftError listing, per host, the busy candidates and the leased ones', async () => {
    const leases = new PortLeases();
    leases.tryAcquire(9002);
    const error = await negotiatePort({
      candidates: [9000, 9001, 9002],
      probes: [new MemoryProbe('localhost', [9000]), new MemoryProbe('node-a', [9001]), new MemoryProbe('node-b')],
      leases,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoPortsLeftError);
    expect(error).toMatchObject({
      code: 'NO_PORTS_LEFT',
      candidates: [9000, 9001, 9002],
      blocked: { localhost: [9000], 'node-a': [9001], 'node-b': [] },
      leased: [9002],
    });
    expect(leases.size).toBe(1);
  });

  it('validates the candidates before asking anyone', async () => {
    const probe = new MemoryProbe('a');
    await expect(negotiatePort({ candidates: [], probes: [probe] })).rejects.toThrow(RangeError);
    await expect(negotiatePort({ candidates: [9000, 9000], probes: [probe] })).rejects.toThrow(/appears twice/);
    await expect(negotiatePort({ candidates: [9000.5], probes: [probe] })).rejects.toThrow(TypeError);
    expect(probe.calls).toEqual([]);
  });

  it('rejects with the failing probe’s own error and aborts the other probes', async () => {
    const failing = deferredProbe('a');
    const slow = deferredProbe('b');
    const boom = new Error('ssh: connect to host a: Connection refused');
    const leases = new PortLeases();
    const pending = negotiatePort({ candidates: [9000], probes: [failing, slow], leases });
    failing.fail(boom);
    await expect(pending).rejects.toBe(boom);
    expect(slow.signal?.aborted).toBe(true);
    expect(leases.size).toBe(0);
  });

  it('rejects at once with the abort reason when the signal is already aborted, asking no one', async () => {
    const probe = new MemoryProbe('a');
    const reason = new Error('stop');
    await expect(negotiatePort({ candidates: [9000], probes: [probe], signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(probe.calls).toEqual([]);
  });

  it('rejects with the abort reason while a probe hangs, passes the abort on, and keeps no lease', async () => {
    const hanging = deferredProbe('a');
    const controller = new AbortController();
    const leases = new PortLeases();
    const pending = negotiatePort({ candidates: [9000], probes: [hanging], leases, signal: controller.signal });
    controller.abort(new Error('user pressed Ctrl-C'));
    await expect(pending).rejects.toThrow('user pressed Ctrl-C');
    expect(hanging.signal?.aborted).toBe(true);
    hanging.answer(new Set());
    await new Promise((resolve) => setImmediate(resolve));
    expect(leases.size).toBe(0);
  });
});

describe('concurrent negotiations', () => {
  it('never hand out the same port twice, even before anyone binds it', async () => {
    const leases = new PortLeases();
    const candidates = [9000, 9001, 9002, 9003, 9004, 9005];
    const probes = [new MemoryProbe('localhost', [9001]), new MemoryProbe('node-a')];
    const results = await Promise.all(Array.from({ length: 5 }, () => negotiatePort({ candidates, probes, leases })));
    const ports = results.map((result) => result.port);
    expect(new Set(ports).size).toBe(5);
    expect(ports.sort()).toEqual([9000, 9002, 9003, 9004, 9005]);
    await expect(negotiatePort({ candidates, probes, leases })).rejects.toMatchObject({ code: 'NO_PORTS_LEFT', leased: [9000, 9002, 9003, 9004, 9005] });
  });

  it('never hand out the same real port twice through the manager probe', async () => {
    const candidates = [await freedPort(), await freedPort(), await freedPort()];
    const leases = new PortLeases();
    const results = await Promise.all(candidates.map(() => negotiatePort({ candidates, probes: [managerProbe()], leases })));
    expect(new Set(results.map((result) => result.port))).toEqual(new Set(candidates));
  });
});

describe('negotiatePorts', () => {
  it('picks several distinct free ports in one round, with the candidates after the last as remaining', async () => {
    const leases = new PortLeases();
    const result = await negotiatePorts(3, {
      candidates: [9000, 9001, 9002, 9003, 9004, 9005],
      probes: [new MemoryProbe('a', [9001]), new MemoryProbe('b', [9003])],
      leases,
      owner: 'workers',
    });
    expect(result.ports).toEqual([9000, 9002, 9004]);
    expect(result.remaining).toEqual([9005]);
    expect(result.leases.map((lease) => lease.port)).toEqual([9000, 9002, 9004]);
    expect(leases.ownerOf(9002)).toBe('workers');
  });

  it('keeps no lease when there are not enough free ports', async () => {
    const leases = new PortLeases();
    const error = await negotiatePorts(3, { candidates: [9000, 9001, 9002], probes: [new MemoryProbe('a', [9001])], leases }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoPortsLeftError);
    expect(error).toMatchObject({ needed: 3 });
    expect(leases.size).toBe(0);
  });

  it('returns nothing for zero ports without asking anyone', async () => {
    const probe = new MemoryProbe('a');
    expect(await negotiatePorts(0, { candidates: [9000], probes: [probe] })).toEqual({ ports: [], remaining: [9000], leases: [] });
    expect(probe.calls).toEqual([]);
  });

  it('rejects a count that is not a whole number', async () => {
    await expect(negotiatePorts(1.5, { candidates: [9000], probes: [] })).rejects.toThrow(RangeError);
    await expect(negotiatePorts(-1, { candidates: [9000], probes: [] })).rejects.toThrow(RangeError);
  });
});

describe('requirePort', () => {
  it('leases the port when it is free everywhere', async () => {
    const leases = new PortLeases();
    const lease = await requirePort({ port: 9000, probes: [new MemoryProbe('a', [9001])], leases });
    expect(lease.port).toBe(9000);
    expect(leases.isLeased(9000)).toBe(true);
  });

  it('throws PortInUseError naming every host that holds the port, and only those', async () => {
    const error = await requirePort({
      port: 9000,
      probes: [new MemoryProbe('localhost', [9000]), new MemoryProbe('node-a'), new MemoryProbe('node-b', [9000]), new MemoryProbe('node-c', [9000])],
      excludeHosts: ['node-c'],
      leases: new PortLeases(),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PortInUseError);
    expect(error).toMatchObject({ code: 'PORT_IN_USE', port: 9000, hosts: ['localhost', 'node-b'], leased: false });
  });

  it('treats a port leased in this process as in use on localhost, without asking the hosts', async () => {
    const leases = new PortLeases();
    leases.tryAcquire(9000);
    const probe = new MemoryProbe('a');
    await expect(requirePort({ port: 9000, probes: [probe], leases })).rejects.toMatchObject({ code: 'PORT_IN_USE', hosts: ['localhost'], leased: true });
    expect(probe.calls).toEqual([]);
  });

  it('lets only one of two concurrent callers have the same port', async () => {
    const leases = new PortLeases();
    const results = await Promise.allSettled([
      requirePort({ port: 9000, probes: [new MemoryProbe('a')], leases }),
      requirePort({ port: 9000, probes: [new MemoryProbe('a')], leases }),
    ]);
    expect(results.map((result) => result.status).sort()).toEqual(['fulfilled', 'rejected']);
  });

  it('reports a port held on the manager as in use on localhost', async () => {
    await using server = await listen('127.0.0.1');
    await expect(requirePort({ port: portOf(server), probes: [managerProbe()], leases: new PortLeases() })).rejects.toMatchObject({
      hosts: ['localhost'],
    });
  });

  it('rejects an invalid port with a RangeError', async () => {
    await expect(requirePort({ port: 70000, probes: [] })).rejects.toThrow(RangeError);
  });
});
