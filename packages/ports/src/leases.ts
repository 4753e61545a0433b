import { validatePort } from './port-list.js';

/**
 * A port reserved inside this process. Releasing it (or leaving a `using` block) lets
 * the port be handed out again; releasing twice is harmless.
 *
 * @example
 * using lease = leases.tryAcquire(8786, 'dask scheduler');
 */
export interface PortLease extends Disposable {
  readonly port: number;
  /** Who holds the lease, for messages; `undefined` when not given. */
  readonly owner: string | undefined;
  /** True once released. */
  readonly released: boolean;
  /** Gives the port back. Idempotent, and never frees a later lease on the same port. */
  release(): void;
}

/**
 * The ports handed out inside one process and not yet released. Negotiation acquires a
 * lease synchronously right after the hosts answer, so two concurrent negotiations never
 * return the same port, even before either caller has bound it.
 */
export class PortLeases {
  readonly #held = new Map<number, PortLease>();

  /** Reserves `port`, or returns `undefined` when it is already leased. */
  tryAcquire(port: number, owner?: string): PortLease | undefined {
    validatePort(port);
    if (this.#held.has(port)) return undefined;
    const held = this.#held;
    let released = false;
    const lease: PortLease = {
      port,
      owner,
      get released() {
        return released;
      },
      release() {
        if (released) return;
        released = true;
        // NOTE: identity check, otherwise a stale lease would free someone else's.
        if (held.get(port) === lease) held.delete(port);
      },
      [Symbol.dispose]() {
        lease.release();
      },
    };
    held.set(port, lease);
    return lease;
  }

  /** True while `port` is leased. */
  isLeased(port: number): boolean {
    return this.#held.has(port);
  }

  /** The owner given when `port` was leased, if it is leased and one was given. */
  ownerOf(port: number): string | undefined {
    return this.#held.get(port)?.owner;
  }

  /** Releases whatever lease holds `port`; returns whether one did. */
  release(port: number): boolean {
    const lease = this.#held.get(port);
    lease?.release();
    return lease !== undefined;
  }

  /** How many ports are leased. */
  get size(): number {
    return this.#held.size;
  }
}

/** The leases shared by everything in this process that does not pass its own. */
export const defaultPortLeases = new PortLeases();
