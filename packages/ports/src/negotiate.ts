import { raceAbort } from './internal/async.js';
import { defaultPortLeases, type PortLease, type PortLeases } from './leases.js';
import { MANAGER_HOST } from './local-ports.js';
import { NoPortsLeftError, PortInUseError } from './port-errors.js';
import { validatePort, validatePortList } from './port-list.js';
import type { PortProbe } from './probe.js';

/** What every negotiation takes besides the ports. */
export interface ProbeOptions {
  /** One probe per host that must have the port free; include `managerProbe()` for the manager. */
  readonly probes: readonly PortProbe[];
  /** Hosts whose probes are not asked. @default [] */
  readonly excludeHosts?: readonly string[] | undefined;
  /** Where the picked ports are leased. @default defaultPortLeases */
  readonly leases?: PortLeases | undefined;
  /** Recorded on the leases, for messages. */
  readonly owner?: string | undefined;
  /** Aborts the negotiation; it then rejects with the signal's reason and holds no lease. */
  readonly signal?: AbortSignal | undefined;
}

/** Options of {@link negotiatePort} and {@link negotiatePorts}. */
export interface NegotiateOptions extends ProbeOptions {
  /** Ports to choose from, in order of preference. */
  readonly candidates: readonly number[];
}

/** Options of {@link requirePort}. */
export interface RequirePortOptions extends ProbeOptions {
  /** The one port that is wanted. */
  readonly port: number;
}

/** The result of {@link negotiatePort}. */
export interface NegotiatedPort {
  readonly port: number;
  /** The candidates after `port`, to hand to the next negotiation. */
  readonly remaining: number[];
  /** Keeps `port` from being handed out again in this process; release it when done. */
  readonly lease: PortLease;
}

/** The result of {@link negotiatePorts}. */
export interface NegotiatedPorts {
  readonly ports: number[];
  /** The candidates after the last picked port. */
  readonly remaining: number[];
  /** One lease per picked port, in the same order. */
  readonly leases: PortLease[];
}

/**
 * Picks the first candidate that is free on every probed host and not leased in this
 * process, and leases it. Every probe is asked once, all in parallel.
 *
 * @throws NoPortsLeftError when no candidate qualifies; TypeError / RangeError for an
 * invalid candidate list; a probe's own error when a probe fails.
 * @example
 * const { port, remaining, lease } = await negotiatePort({
 *   candidates: portRange(61000, 61200),
 *   probes: [managerProbe(), remoteProbe('node-a', run)],
 * });
 */
export async function negotiatePort(options: NegotiateOptions): Promise<NegotiatedPort> {
  const { ports, remaining, leases } = await negotiatePorts(1, options);
  return { port: ports[0] as number, remaining, lease: leases[0] as PortLease };
}

/**
 * Picks `count` distinct candidates that are free on every probed host, in one probe
 * round (one port per worker, say), and leases them all. `remaining` is the candidates
 * after the last one picked.
 *
 * @throws NoPortsLeftError when fewer than `count` candidates qualify (no lease is kept).
 */
export async function negotiatePorts(count: number, options: NegotiateOptions): Promise<NegotiatedPorts> {
  const candidates = validatePortList(options.candidates);
  if (!Number.isInteger(count) || count < 0) {
    throw new RangeError(`The number of ports to negotiate must be a whole number, got ${count}.`);
  }
  const leases = options.leases ?? defaultPortLeases;
  options.signal?.throwIfAborted();
  if (count === 0) return { ports: [], remaining: candidates, leases: [] };

  // NOTE: leased ports are not probed: their holder may be binding them right now, and
  // the manager's bind test could make that bind fail.
  const unleased = candidates.filter((port) => !leases.isLeased(port));
  const busy = unleased.length > 0 ? await askProbes(unleased, options) : new Map<string, Set<number>>();
  options.signal?.throwIfAborted();

  // From here to the return nothing awaits, so no other negotiation can lease in between.
  const busyAnywhere = new Set([...busy.values()].flatMap((ports) => [...ports]));
  const picked: PortLease[] = [];
  const leased: number[] = [];
  let last = -1;
  for (let i = 0; i < candidates.length && picked.length < count; i++) {
    const port = candidates[i] as number;
    if (busyAnywhere.has(port)) continue;
    const lease = leases.tryAcquire(port, options.owner);
    if (lease === undefined) {
      leased.push(port);
      continue;
    }
    picked.push(lease);
    last = i;
  }
  if (picked.length < count) {
    for (const lease of picked) lease.release();
    const blocked = Object.fromEntries([...busy].map(([host, ports]) => [host, [...ports]]));
    throw new NoPortsLeftError({ candidates, blocked, leased, needed: count });
  }
  return { ports: picked.map((lease) => lease.port), remaining: candidates.slice(last + 1), leases: picked };
}

/**
 * Leases exactly `port` when it is free on every probed host and not leased in this
 * process.
 *
 * @throws PortInUseError naming every host that holds the port (`'localhost'` when it
 * is leased in this process); a probe's own error when a probe fails.
 */
export async function requirePort(options: RequirePortOptions): Promise<PortLease> {
  const port = validatePort(options.port);
  const leases = options.leases ?? defaultPortLeases;
  options.signal?.throwIfAborted();
  if (leases.isLeased(port)) throw new PortInUseError({ port, hosts: [MANAGER_HOST], leased: true });
  const busy = await askProbes([port], options);
  options.signal?.throwIfAborted();
  const hosts = [...busy].filter(([, ports]) => ports.has(port)).map(([host]) => host);
  if (hosts.length > 0) throw new PortInUseError({ port, hosts });
  const lease = leases.tryAcquire(port, options.owner);
  if (lease === undefined) throw new PortInUseError({ port, hosts: [MANAGER_HOST], leased: true });
  return lease;
}

/**
 * Asks every probe not excluded, all at once, which candidates are busy; the answer maps
 * each asked host to its busy candidates. The first probe failure rejects and aborts the
 * others.
 */
async function askProbes(candidates: readonly number[], options: ProbeOptions): Promise<Map<string, Set<number>>> {
  const exclude = new Set(options.excludeHosts ?? []);
  const probes = options.probes.filter((probe) => !exclude.has(probe.host));
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const wanted = new Set(candidates);
  try {
    const answers = await raceAbort(
      Promise.all(probes.map(async (probe) => ({ host: probe.host, busy: await probe.busyPorts(candidates, { signal }) }))),
      options.signal,
    );
    const busy = new Map<string, Set<number>>();
    for (const { host, busy: ports } of answers) {
      const set = busy.get(host) ?? new Set<number>();
      for (const port of ports) if (wanted.has(port)) set.add(port);
      busy.set(host, set);
    }
    return busy;
  } catch (error) {
    stop.abort(error);
    throw error;
  }
}

/** SPEC's name for {@link negotiatePort}: the first candidate free on every host, asked once each, in parallel. */
export const negotiate = negotiatePort;
