import { LazyclusterError } from './errors.js';
import { formatPortList } from './port-list.js';

/** Options of {@link PortInUseError}. */
export interface PortInUseErrorOptions {
  /** The port that was asked for. */
  readonly port: number;
  /** Every host on which the port is taken (`'localhost'` is the manager). */
  readonly hosts: readonly string[];
  /** True when the port is leased to another caller inside this process. @default false */
  readonly leased?: boolean | undefined;
  readonly cause?: unknown;
}

/** A port asked for by number is taken on at least one host. Code `PORT_IN_USE`. */
export class PortInUseError extends LazyclusterError {
  readonly port: number;
  readonly hosts: string[];
  readonly leased: boolean;

  constructor({ port, hosts, leased = false, cause }: PortInUseErrorOptions) {
    const where = hosts.length > 0 ? hosts.join(', ') : 'an unnamed host';
    const why = leased ? ' (leased to another caller in this process, which has not released it yet)' : '';
    super(
      'PORT_IN_USE',
      `Port ${port} is in use on ${where}${why}: pick another port, or free port ${port} there.`,
      cause === undefined ? undefined : { cause },
    );
    this.port = port;
    this.hosts = [...hosts];
    this.leased = leased;
  }
}

/** Options of {@link NoPortsLeftError}. */
export interface NoPortsLeftErrorOptions {
  /** Every candidate port that was considered, in order. */
  readonly candidates: readonly number[];
  /** Per asked host, the candidates that were busy there (empty when all were free). */
  readonly blocked: Readonly<Record<string, readonly number[]>>;
  /** Candidates leased to other callers in this process. @default [] */
  readonly leased?: readonly number[] | undefined;
  /** How many ports were needed. @default 1 */
  readonly needed?: number | undefined;
  readonly cause?: unknown;
}

/** None (or not enough) of a list of candidate ports is free everywhere it has to be. Code `NO_PORTS_LEFT`. */
export class NoPortsLeftError extends LazyclusterError {
  readonly candidates: number[];
  readonly blocked: Record<string, number[]>;
  readonly leased: number[];
  readonly needed: number;

  constructor({ candidates, blocked, leased = [], needed = 1, cause }: NoPortsLeftErrorOptions) {
    const ports = (list: readonly number[]) => formatPortList([...list].sort((a, b) => a - b), 8);
    const perHost = Object.entries(blocked).map(([host, busy]) =>
      busy.length === 0 ? `${host}: all free` : `${host}: ${busy.length} busy (${ports(busy)})`,
    );
    if (leased.length > 0) perHost.push(`leased in this process: ${leased.length} (${ports(leased)})`);
    const what = needed === 1 ? 'No port' : `Fewer than ${needed} ports`;
    super(
      'NO_PORTS_LEFT',
      `${what} free on every host among the ${candidates.length} candidates tried (${ports(candidates)}).` +
        (perHost.length > 0 ? ` ${perHost.join('; ')}.` : '') +
        ' Pass a different or larger port range.',
      cause === undefined ? undefined : { cause },
    );
    this.candidates = [...candidates];
    this.blocked = Object.fromEntries(Object.entries(blocked).map(([host, busy]) => [host, [...busy]]));
    this.leased = [...leased];
    this.needed = needed;
  }
}
