// The `subscribe_worker_status` stream (scheduler.py WorkerStatusPlugin): the scheduler answers
// with its identity, then keeps writing batches on the same comm, each a list of
// ["add", {"workers": {address: identity}}] and ["remove", address] items.
import { Comm } from '../internal/protocol/comm.js';
import type { Endpoint } from '../internal/protocol/comm.js';
import type { WireValue } from '../internal/protocol/messages.js';
import { expectMap, parseWorkerMap } from './types.js';
import type { DaskWorkerInfo } from './types.js';

/** A change in the scheduler's worker set. */
export type DaskWorkerEvent =
  | { readonly type: 'added'; readonly address: string; readonly worker: DaskWorkerInfo }
  | { readonly type: 'removed'; readonly address: string };

export type DaskWorkerListener = (event: DaskWorkerEvent) => void;

/** One stream comm shared by every listener of a client (see README: one per scheduler). */
export class WorkerStatusStream {
  readonly workers = new Map<string, DaskWorkerInfo>();
  readonly listeners = new Set<DaskWorkerListener>();
  /** Resolves when the stream stops, closed by us or by the scheduler. */
  readonly ended: Promise<void>;
  private readonly stop = new AbortController();
  private isEnded = false;

  private constructor(
    private readonly comm: Comm,
    snapshot: Record<string, DaskWorkerInfo>,
  ) {
    for (const [address, info] of Object.entries(snapshot)) this.workers.set(address, info);
    this.ended = this.pump().finally(() => {
      this.isEnded = true;
    });
  }

  static async open(endpoint: Endpoint, signal: AbortSignal): Promise<WorkerStatusStream> {
    const comm = await Comm.open(endpoint, signal);
    try {
      comm.write({ op: 'subscribe_worker_status', reply: true });
      const identity = expectMap(await comm.read(signal), 'subscribe_worker_status reply');
      return new WorkerStatusStream(comm, parseWorkerMap(identity.workers, 'subscribe_worker_status reply.workers'));
    } catch (error) {
      comm.destroy();
      throw error;
    }
  }

  /** True once the stream ended or is closing: a new subscriber then needs a new stream. */
  get hasEnded(): boolean {
    return this.isEnded || this.stop.signal.aborted;
  }

  /** Closing the comm ends the subscription: the scheduler drops its plugin on the next send. */
  async close(): Promise<void> {
    this.stop.abort();
    await this.comm.close();
    await this.ended;
  }

  private async pump(): Promise<void> {
    try {
      for (;;) this.apply(await this.comm.read(this.stop.signal));
    } catch {
      // The comm closed (by the scheduler, or by close() which also tells the scheduler) or
      // sent garbage: either way the stream is over.
      if (!this.stop.signal.aborted) this.comm.destroy();
    }
  }

  private apply(batch: WireValue): void {
    if (!Array.isArray(batch)) return;
    for (const item of batch as readonly WireValue[]) {
      if (!Array.isArray(item)) continue;
      const [op, payload] = item as readonly WireValue[];
      if (op === 'add') {
        const added = parseWorkerMap(expectMap(payload, 'worker status add').workers, 'worker status add.workers');
        for (const [address, worker] of Object.entries(added)) {
          this.workers.set(address, worker);
          this.emit({ type: 'added', address, worker });
        }
      } else if (op === 'remove' && typeof payload === 'string') {
        this.workers.delete(payload);
        this.emit({ type: 'removed', address: payload });
      }
    }
  }

  private emit(event: DaskWorkerEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        // As with an EventEmitter listener: a throwing listener is the program's bug, not the
        // stream's; it surfaces as an uncaught exception instead of silently ending the stream.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
