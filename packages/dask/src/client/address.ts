import type { Endpoint } from '../internal/protocol/comm.js';
import { DaskConfigError } from './errors.js';

/** Dask's default scheduler port, used when an address has none. */
const DEFAULT_SCHEDULER_PORT = 8786;

/**
 * Parses `tcp://host:port`, `host:port`, `host`, or `[v6]:port` into an endpoint whose
 * `address` is the normalized `tcp://` form. Throws `DaskConfigError`.
 */
export function parseSchedulerAddress(address: string): Endpoint {
  const trimmed = address.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(trimmed);
  if (scheme !== null && scheme[1]?.toLowerCase() !== 'tcp') {
    throw new DaskConfigError(
      `Cannot connect to '${address}': only tcp:// scheduler addresses are supported, not ${scheme[1] ?? ''}://.`,
    );
  }
  const location = scheme === null ? trimmed : trimmed.slice(scheme[0].length);
  const match = /^(?:\[([^\]]+)\]|([^:[\]/]+))(?::(\d+))?$/.exec(location);
  const host = match?.[1] ?? match?.[2];
  const port = match?.[3] === undefined ? DEFAULT_SCHEDULER_PORT : Number(match[3]);
  if (host === undefined || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new DaskConfigError(
      `'${address}' is not a Dask scheduler address: use tcp://host:port (e.g. tcp://127.0.0.1:8786).`,
    );
  }
  const shown = host.includes(':') ? `[${host}]` : host;
  return { host, port, address: `tcp://${shown}:${port}` };
}
