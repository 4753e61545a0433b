import { createServer } from 'node:net';
import { mapLimit } from './internal/async.js';
import { validatePort } from './port-list.js';
import type { PortProbe } from './probe.js';

/** The host name under which the manager (the machine running this process) is reported. */
export const MANAGER_HOST = 'localhost';

// Loopback first: tunnels bind there. The specific addresses are tried as well as the
// wildcards because on BSD/macOS a wildcard bind succeeds next to a loopback listener.
// The IPv6 wildcard is bound dual-stack, as Node and most servers do by default.
const ADDRESSES = [
  { host: '127.0.0.1', ipv6: false },
  { host: '0.0.0.0', ipv6: false },
  { host: '::1', ipv6: true },
  { host: '::', ipv6: true },
] as const;

// Errors that mean "this host has no IPv6", not "the port is taken".
const NO_IPV6 = new Set(['EADDRNOTAVAIL', 'EAFNOSUPPORT']);
// Errors that mean "we cannot have this port".
const TAKEN = new Set(['EADDRINUSE', 'EACCES']);

// Sockets in flight while probing many candidates; keeps well below common fd limits.
const CONCURRENCY = 16;

type BindResult = 'free' | 'taken' | 'no-ipv6';

function tryBind(port: number, host: string, ipv6: boolean): Promise<BindResult> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', (error: NodeJS.ErrnoException) => {
      const code = error.code ?? '';
      if (TAKEN.has(code)) resolve('taken');
      else if (ipv6 && NO_IPV6.has(code)) resolve('no-ipv6');
      else reject(error);
    });
    server.listen({ port, host }, () => {
      server.close(() => {
        resolve('free');
      });
    });
  });
}

/**
 * True when a server could bind `port` on the manager right now: binding succeeds on
 * 127.0.0.1 and 0.0.0.0, and on ::1 and :: where the host has IPv6. A port bound by any
 * socket (listening or not) counts as taken, as does a privileged port we may not bind.
 *
 * The binds happen one after another and each socket is closed at once, so the answer
 * can be stale by the time a caller binds: hold a {@link PortLease} in the meantime.
 *
 * @throws TypeError / RangeError for an invalid port; the bind error for any failure
 * other than "in use", "permission denied" or "no IPv6 here" (e.g. EMFILE).
 */
export async function isPortFreeOnManager(port: number): Promise<boolean> {
  validatePort(port);
  // NOTE: concurrent checks of one port share one bind test, otherwise each would see the
  // other's momentary bind and call the port taken.
  let check = inFlight.get(port);
  if (check === undefined) {
    check = bindEverywhere(port).finally(() => inFlight.delete(port));
    inFlight.set(port, check);
  }
  return check;
}

const inFlight = new Map<number, Promise<boolean>>();

async function bindEverywhere(port: number): Promise<boolean> {
  for (const { host, ipv6 } of ADDRESSES) {
    if ((await tryBind(port, host, ipv6)) === 'taken') return false;
  }
  return true;
}

/**
 * A {@link PortProbe} for the manager, reported as host `'localhost'`: tries to bind
 * each candidate (see {@link isPortFreeOnManager}), a few candidates at a time.
 */
export function managerProbe(): PortProbe {
  return {
    host: MANAGER_HOST,
    async busyPorts(candidates, options) {
      const signal = options?.signal;
      const free = await mapLimit(candidates, CONCURRENCY, async (port) => {
        signal?.throwIfAborted();
        return isPortFreeOnManager(port);
      });
      signal?.throwIfAborted();
      return new Set(candidates.filter((_, i) => free[i] === false));
    },
  };
}
