import { isWireMap } from '../internal/protocol/messages.js';
import type { WireMap, WireValue } from '../internal/protocol/messages.js';
import { DaskProtocolError } from './errors.js';

/** A worker as the scheduler describes it (`WorkerState.identity()`), with camelCase names. */
export interface DaskWorkerInfo {
  /** The worker's own address, e.g. `tcp://127.0.0.1:40123`. */
  readonly address: string;
  /** The worker's `--name`; Dask lets it be a number. */
  readonly name: string | number;
  readonly host: string;
  readonly nthreads: number;
  /** Bytes; `0` means no limit. */
  readonly memoryLimit: number;
  /** Dask's worker status: `running`, `paused`, `closing_gracefully`, `closing`, `closed`, ... */
  readonly status: string;
  readonly localDirectory: string;
  /** The nanny's address, or `null` for a worker started with `--no-nanny`. */
  readonly nanny: string | null;
  /** Ports of the worker's services, e.g. `{ dashboard: 40805 }`. */
  readonly services: Readonly<Record<string, number>>;
  readonly resources: Readonly<Record<string, number>>;
  /** When the scheduler last heard from it (seconds since the epoch); absent in status events. */
  readonly lastSeen?: number;
}

/** The scheduler's answer to `identity`. */
export interface DaskSchedulerIdentity {
  /** `Scheduler` for a scheduler. */
  readonly type: string;
  readonly id: string;
  /** The address the scheduler advertises, which may differ from the one connected to (tunnels). */
  readonly address: string;
  /** Ports of the scheduler's services, e.g. `{ dashboard: 8787 }` (empty with `--no-dashboard`). */
  readonly services: Readonly<Record<string, number>>;
  /** Start time, seconds since the epoch. */
  readonly started: number;
  /** Every worker, by address. */
  readonly workers: Readonly<Record<string, DaskWorkerInfo>>;
}

export function parseIdentity(value: WireValue): DaskSchedulerIdentity {
  const map = expectMap(value, 'identity');
  return {
    type: expectString(map.type, 'identity.type'),
    id: expectString(map.id, 'identity.id'),
    address: expectString(map.address, 'identity.address'),
    services: numberRecord(map.services, 'identity.services'),
    started: expectNumber(map.started, 'identity.started'),
    workers: parseWorkerMap(map.workers, 'identity.workers'),
  };
}

export function parseWorkerMap(value: WireValue | undefined, path: string): Record<string, DaskWorkerInfo> {
  const map = expectMap(value, path);
  const out: Record<string, DaskWorkerInfo> = {};
  for (const [address, info] of Object.entries(map)) out[address] = parseWorkerInfo(address, info, `${path}[${address}]`);
  return out;
}

export function parseWorkerInfo(address: string, value: WireValue, path: string): DaskWorkerInfo {
  const map = expectMap(value, path);
  const name = map.name;
  const info: DaskWorkerInfo = {
    address,
    name: typeof name === 'number' ? name : expectString(name, `${path}.name`),
    host: expectString(map.host, `${path}.host`),
    nthreads: expectNumber(map.nthreads, `${path}.nthreads`),
    memoryLimit: map.memory_limit === null ? 0 : expectNumber(map.memory_limit, `${path}.memory_limit`),
    status: expectString(map.status, `${path}.status`),
    localDirectory: typeof map.local_directory === 'string' ? map.local_directory : '',
    nanny: typeof map.nanny === 'string' ? map.nanny : null,
    services: numberRecord(map.services, `${path}.services`),
    resources: numberRecord(map.resources, `${path}.resources`),
  };
  return typeof map.last_seen === 'number' ? { ...info, lastSeen: map.last_seen } : info;
}

export function expectMap(value: WireValue | undefined, path: string): WireMap {
  if (!isWireMap(value)) throw malformed(path, 'a map', value);
  return value;
}

function expectString(value: WireValue | undefined, path: string): string {
  if (typeof value !== 'string') throw malformed(path, 'a string', value);
  return value;
}

function expectNumber(value: WireValue | undefined, path: string): number {
  if (typeof value !== 'number') throw malformed(path, 'a number', value);
  return value;
}

function numberRecord(value: WireValue | undefined, path: string): Record<string, number> {
  if (value === undefined || value === null) return {};
  const out: Record<string, number> = {};
  for (const [key, item] of Object.entries(expectMap(value, path))) {
    if (typeof item === 'number') out[key] = item;
  }
  return out;
}

function malformed(path: string, expected: string, value: WireValue | undefined): DaskProtocolError {
  const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
  return new DaskProtocolError(`The scheduler's reply is malformed: ${path} should be ${expected}, got ${got}.`);
}
