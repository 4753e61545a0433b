import type { DaskClient } from '../../client/dask-client.js';
import { sleep } from '../../client/deadline.js';

const FIRST_PAUSE_MS = 10;
const MAX_PAUSE_MS = 200;
const IDENTITY_TIMEOUT_MS = 5_000;

interface Waiter {
  readonly address: string;
  readonly name: string;
  readonly resolve: () => void;
}

/**
 * Tells when workers have registered with the scheduler. However many workers wait, one loop
 * asks the scheduler for its workers (with a short backoff) and releases every waiter whose
 * worker is listed as running; it stops when nobody waits.
 */
export class WorkerRegistrations {
  readonly #connect: () => Promise<DaskClient>;
  readonly #waiters = new Set<Waiter>();
  readonly #closed = new AbortController();
  #client: Promise<DaskClient> | undefined;
  #polling = false;
  #pause = FIRST_PAUSE_MS;

  constructor(connect: () => Promise<DaskClient>) {
    this.#connect = connect;
  }

  /** A connected client of the scheduler, shared with the polling loop. */
  async client(): Promise<DaskClient> {
    this.#closed.signal.throwIfAborted();
    const client = (this.#client ??= this.#connect());
    client.catch(() => {
      if (this.#client === client) this.#client = undefined;
    });
    return await client;
  }

  /** Resolves once the scheduler lists a running worker with this address and name. */
  async waitFor(address: string, name: string, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    this.#closed.signal.throwIfAborted();
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.#waiters.delete(waiter);
        reject(toError(signal.aborted ? signal.reason : this.#closed.signal.reason));
      };
      const waiter: Waiter = {
        address,
        name,
        resolve: () => {
          signal.removeEventListener('abort', onAbort);
          this.#closed.signal.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#closed.signal.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(waiter);
      this.#pause = FIRST_PAUSE_MS;
      this.#poll();
    });
  }

  /** Stops polling, rejects the waiters and closes the client. */
  async close(): Promise<void> {
    this.#closed.abort(new Error('the worker launcher is being cleaned up'));
    const client = this.#client;
    this.#client = undefined;
    await client?.then(
      async (c) => await c.close(),
      () => undefined,
    );
  }

  #poll(): void {
    if (this.#polling) return;
    this.#polling = true;
    void this.#loop();
  }

  async #loop(): Promise<void> {
    const signal = this.#closed.signal;
    try {
      while (this.#waiters.size > 0 && !signal.aborted) {
        try {
          const client = await this.client();
          const { workers } = await client.identity({ timeoutMs: IDENTITY_TIMEOUT_MS, signal });
          for (const waiter of [...this.#waiters]) {
            const worker = workers[waiter.address];
            if (worker?.status === 'running' && String(worker.name) === waiter.name) {
              this.#waiters.delete(waiter);
              waiter.resolve();
            }
          }
        } catch {
          // The scheduler may be busy or the connection broken: connect anew on the next round.
          // A worker that never shows up is reported by its own deadline, with its stderr.
          const broken = this.#client;
          this.#client = undefined;
          void broken?.then(
            async (c) => await c.close(),
            () => undefined,
          );
        }
        if (this.#waiters.size === 0) return;
        await sleep(this.#pause, signal).catch(() => undefined);
        this.#pause = Math.min(this.#pause * 2, MAX_PAUSE_MS);
      }
    } finally {
      // NOTE: cleared in the same step as the last look at the waiters; otherwise a waiter
      // added in between would wait for a loop that has already ended.
      this.#polling = false;
    }
  }
}

function toError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}
