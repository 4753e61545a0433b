import { Comm, abortable } from '../internal/protocol/comm.js';
import type { Endpoint } from '../internal/protocol/comm.js';
import { isWireMap } from '../internal/protocol/messages.js';
import type { OutgoingMap, OutgoingValue, WireValue } from '../internal/protocol/messages.js';
import { parseSchedulerAddress } from './address.js';
import { sleep, withDeadline } from './deadline.js';
import type { DaskCallOptions, DeadlineSpec } from './deadline.js';
import { DaskConfigError, DaskConnectionError, DaskProtocolError, DaskSchedulerError } from './errors.js';
import { parseIdentity, parseWorkerMap } from './types.js';
import type { DaskSchedulerIdentity, DaskWorkerInfo } from './types.js';
import { WorkerStatusStream } from './worker-status.js';
import type { DaskWorkerListener } from './worker-status.js';

/** Options of {@link DaskClient.connect}. */
export interface DaskConnectOptions extends DaskCallOptions {
  /**
   * Time allowed for connecting, the handshake and the first `identity` call.
   * @default 10000
   */
  readonly timeoutMs?: number;
  /**
   * Default `timeoutMs` of later calls that do not give their own (`identity`, `workers`, ...).
   * @default 30000
   */
  readonly requestTimeoutMs?: number;
}

/** Options of {@link DaskClient.waitForWorkers}. */
export interface WaitForWorkersOptions extends DaskCallOptions {
  /** @default 60000 */
  readonly timeoutMs?: number;
}

/** Options of {@link DaskClient.retireWorkers}. */
export interface RetireWorkersOptions extends DaskCallOptions {
  /** Worker addresses to retire. Exclusive with `names`. */
  readonly workers?: readonly string[];
  /** Worker names (`--name`) to retire. Exclusive with `workers`. */
  readonly names?: readonly (string | number)[];
  /**
   * Whether the scheduler also tells the retired workers to exit; otherwise they stay up but
   * get no work (and a nanny may restart them).
   * @default true
   */
  readonly closeWorkers?: boolean;
  /**
   * Whether the scheduler forgets the retired workers at once. With `closeWorkers: false` and
   * `remove: false` it only moves their data away and gives them no more tasks, so that whoever
   * started them can stop them.
   * @default true
   */
  readonly remove?: boolean;
  /**
   * Retiring first moves data that only the retiring workers hold.
   * @default 60000
   */
  readonly timeoutMs?: number;
}

/** A live subscription to worker status events; close it (or dispose it) to unsubscribe. */
export interface DaskWorkerSubscription extends AsyncDisposable {
  /** The workers the scheduler has now, kept up to date by the events. */
  readonly workers: ReadonlyMap<string, DaskWorkerInfo>;
  /** Resolves when events stop: after `close()`, or when the scheduler closed the stream. */
  readonly ended: Promise<void>;
  close(): Promise<void>;
}

const CONNECT_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;
const WAIT_FOR_WORKERS_TIMEOUT_MS = 60_000;
const RETIRE_TIMEOUT_MS = 60_000;
const SHUTDOWN_TIMEOUT_MS = 10_000;
// A Dask comm carries one request at a time; a few idle ones let calls overlap without reconnecting.
const MAX_IDLE_COMMS = 2;
const POLL_FIRST_MS = 10;
const POLL_MAX_MS = 250;

const GENERIC_HINT = 'Check that the scheduler is running and not overloaded (see its log), or raise timeoutMs.';

/**
 * A client for a Dask scheduler that speaks its TCP protocol natively (framing, handshake,
 * msgpack); Python is not needed on this side, and nothing is ever unpickled.
 *
 * @example
 * ```ts
 * await using client = await DaskClient.connect('tcp://127.0.0.1:8786', { timeoutMs: 5000 });
 * await client.waitForWorkers(2, { timeoutMs: 30_000 });
 * console.log(await client.workers());
 * ```
 */
export class DaskClient implements AsyncDisposable {
  /** The address connected to, normalized to `tcp://host:port`. */
  readonly address: string;
  /** The address the scheduler advertises (its own view; differs from `address` through a tunnel). */
  readonly schedulerAddress: string;

  private readonly endpoint: Endpoint;
  private readonly requestTimeoutMs: number;
  private readonly idle: Comm[] = [];
  private readonly busy = new Set<Comm>();
  private readonly lifetime = new AbortController();
  private statusStream: Promise<WorkerStatusStream> | undefined;
  private closing: Promise<void> | undefined;

  private constructor(endpoint: Endpoint, schedulerAddress: string, comm: Comm, requestTimeoutMs: number) {
    this.endpoint = endpoint;
    this.address = endpoint.address;
    this.schedulerAddress = schedulerAddress;
    this.requestTimeoutMs = requestTimeoutMs;
    this.release(comm, true);
  }

  /**
   * Connects to the scheduler at `address` (`tcp://host:port` or `host:port`) and checks that it
   * is a scheduler. Rejects with `TimeoutError` (`TIMEOUT`), `DaskConnectionError`
   * (`CONNECTION`: refused, unreachable), `DaskProtocolError` (`PROTOCOL`: not a Dask
   * scheduler) or `DaskConfigError` (`CONFIG`: malformed address). A refused connection is not
   * retried: poll `connect` to wait for a scheduler that is starting.
   */
  static async connect(address: string, options: DaskConnectOptions = {}): Promise<DaskClient> {
    const endpoint = parseSchedulerAddress(address);
    const spec: DeadlineSpec = {
      address: endpoint.address,
      operation: 'connect',
      hint: 'Check that a Dask scheduler listens at that address (and that the tunnel to it is up, if any), or raise timeoutMs.',
    };
    return withDeadline(spec, options, CONNECT_TIMEOUT_MS, [], async (signal) => {
      const comm = await Comm.open(endpoint, signal);
      try {
        const reply = await request(comm, 'identity', {}, signal);
        // Workers and nannies answer the handshake and `identity` too, with their own type.
        const type = isWireMap(reply) ? reply.type : undefined;
        if (type !== 'Scheduler') {
          const what = typeof type === 'string' ? `a Dask ${type}` : 'some other Dask server';
          throw new DaskProtocolError(
            `${endpoint.address} is ${what}, not a scheduler: connect to the scheduler's address instead.`,
            { address: endpoint.address },
          );
        }
        const identity = withAddress(endpoint.address, () => parseIdentity(reply));
        return new DaskClient(endpoint, identity.address, comm, options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS);
      } catch (error) {
        comm.destroy();
        throw error;
      }
    });
  }

  /** The scheduler's identity: its id, address, services and every worker. */
  async identity(options: DaskCallOptions = {}): Promise<DaskSchedulerIdentity> {
    return this.run({ operation: 'identity', hint: GENERIC_HINT }, options, this.requestTimeoutMs, (signal) =>
      this.identityWithin(signal),
    );
  }

  /** Every worker the scheduler knows, whatever its status. */
  async workers(options: DaskCallOptions = {}): Promise<DaskWorkerInfo[]> {
    return Object.values((await this.identity(options)).workers);
  }

  /**
   * Resolves with the running workers once at least `count` are running. Polls the scheduler
   * with a short backoff (10 ms doubling to 250 ms). Rejects with `TimeoutError` naming how many
   * were running.
   */
  async waitForWorkers(count: number, options: WaitForWorkersOptions = {}): Promise<DaskWorkerInfo[]> {
    if (!Number.isInteger(count) || count < 0) {
      throw new DaskConfigError(`waitForWorkers needs a whole number of workers >= 0, got ${count}.`);
    }
    let running = 0;
    const spec: DeadlineSpec = {
      operation: `waitForWorkers(${count})`,
      address: this.address,
      hint: 'Check that the workers were started and can reach the scheduler (their logs say why not), or raise timeoutMs.',
      progress: () => `${running} of ${count} workers running`,
    };
    return this.run(spec, options, WAIT_FOR_WORKERS_TIMEOUT_MS, async (signal) => {
      for (let delay = POLL_FIRST_MS; ; delay = Math.min(delay * 2, POLL_MAX_MS)) {
        const identity = await this.identityWithin(signal);
        const ready = Object.values(identity.workers).filter((worker) => worker.status === 'running');
        running = ready.length;
        if (running >= count) return ready;
        await sleep(delay, signal);
      }
    });
  }

  /**
   * Gracefully retires workers (their unique data moves elsewhere first) and resolves with the
   * retired ones. Without `workers` or `names`, the scheduler picks idle workers it can spare.
   * A worker that cannot hand its data to anyone is not retired and is not in the result.
   */
  async retireWorkers(options: RetireWorkersOptions = {}): Promise<DaskWorkerInfo[]> {
    if (options.workers !== undefined && options.names !== undefined) {
      throw new DaskConfigError('retireWorkers takes either workers (addresses) or names, not both.');
    }
    const args: Record<string, OutgoingValue> = { close_workers: options.closeWorkers ?? true };
    if (options.workers !== undefined) args.workers = [...options.workers];
    if (options.names !== undefined) args.names = [...options.names];
    if (options.remove !== undefined) args.remove = options.remove;
    return this.run({ operation: 'retireWorkers', hint: GENERIC_HINT }, options, RETIRE_TIMEOUT_MS, async (signal) => {
      const reply = await this.call('retire_workers', args, signal);
      return Object.values(this.parse(() => parseWorkerMap(reply, 'retire_workers reply')));
    });
  }

  /**
   * Stops the scheduler (and, through it, its workers), then closes this client. The scheduler
   * drops the connection while it shuts down: that counts as success.
   */
  async shutdown(options: DaskCallOptions = {}): Promise<void> {
    await this.run({ operation: 'shutdown', hint: GENERIC_HINT }, options, SHUTDOWN_TIMEOUT_MS, async (signal) => {
      const comm = await this.acquire(signal);
      try {
        comm.write({ op: 'terminate', reply: true });
        try {
          checkReply(this.address, 'terminate', await comm.read(signal));
        } catch (error) {
          if (!(error instanceof DaskConnectionError) || signal.aborted) throw error;
        }
        // The scheduler closes every comm while it shuts down; seeing ours go confirms it.
        await abortable(comm.closed, signal);
      } finally {
        this.release(comm, false);
      }
    });
    await this.close();
  }

  /**
   * Calls `listener` for every worker added to or removed from the scheduler, until the
   * returned subscription is closed or the client is. All listeners of a client share one
   * stream connection.
   */
  async subscribeWorkerStatus(listener: DaskWorkerListener, options: DaskCallOptions = {}): Promise<DaskWorkerSubscription> {
    const stream = await this.run({ operation: 'subscribeWorkerStatus', hint: GENERIC_HINT }, options, this.requestTimeoutMs, (signal) =>
      this.joinWorkerStatusStream(listener, signal),
    );
    let closed: Promise<void> | undefined;
    const close = (): Promise<void> =>
      (closed ??= (async () => {
        stream.listeners.delete(listener);
        if (stream.listeners.size === 0) await stream.close();
      })());
    return { workers: stream.workers, ended: stream.ended, close, [Symbol.asyncDispose]: close };
  }

  /** Closes every connection (unsubscribing too); calls still running reject. Idempotent. */
  close(): Promise<void> {
    return (this.closing ??= this.shutDownConnections());
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private async shutDownConnections(): Promise<void> {
    this.lifetime.abort(
      new DaskConnectionError(this.address, `This client of the Dask scheduler at ${this.address} is closed; connect a new one.`),
    );
    for (const comm of this.busy) comm.destroy();
    const idle = this.idle.splice(0);
    const stream = this.statusStream;
    this.statusStream = undefined;
    await Promise.all([
      ...idle.map((comm) => comm.close()),
      stream?.then(
        (s) => s.close(),
        () => undefined,
      ),
    ]);
  }

  private run<T>(
    spec: Omit<DeadlineSpec, 'address'>,
    options: DaskCallOptions,
    defaultTimeoutMs: number,
    work: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    return withDeadline({ ...spec, address: this.address }, options, defaultTimeoutMs, [this.lifetime.signal], work);
  }

  private async identityWithin(signal: AbortSignal): Promise<DaskSchedulerIdentity> {
    const reply = await this.call('identity', {}, signal);
    return this.parse(() => parseIdentity(reply));
  }

  /** One request/reply on a pooled comm. A comm whose reply never came is not reused. */
  private async call(op: string, args: OutgoingMap, signal: AbortSignal): Promise<WireValue> {
    const comm = await this.acquire(signal);
    let answered = false;
    try {
      const reply = await request(comm, op, args, signal);
      answered = true;
      return reply;
    } finally {
      this.release(comm, answered);
    }
  }

  private async acquire(signal: AbortSignal): Promise<Comm> {
    let comm = this.idle.pop();
    while (comm?.isClosed) comm = this.idle.pop();
    comm ??= await Comm.open(this.endpoint, signal);
    comm.setActive(true);
    this.busy.add(comm);
    return comm;
  }

  private release(comm: Comm, reusable: boolean): void {
    this.busy.delete(comm);
    if (reusable && !comm.isClosed && this.closing === undefined && this.idle.length < MAX_IDLE_COMMS) {
      comm.setActive(false);
      this.idle.push(comm);
    } else if (reusable) {
      void comm.close();
    } else {
      comm.destroy();
    }
  }

  /**
   * Adds `listener` to the shared stream, opening one if there is none or it ended. Checking
   * and adding happen in one synchronous step, so a subscription closing meanwhile cannot close
   * the stream under a new listener; and never two streams at once, since the scheduler keeps
   * one status plugin by name and a second stream would silently starve the first.
   */
  private async joinWorkerStatusStream(listener: DaskWorkerListener, signal: AbortSignal): Promise<WorkerStatusStream> {
    for (;;) {
      const current = this.statusStream;
      const stream =
        current === undefined
          ? undefined
          : await abortable(current, signal).catch((error: unknown) => {
              if (signal.aborted) throw error;
              return undefined; // that opening failed: open anew below
            });
      signal.throwIfAborted();
      if (stream !== undefined && !stream.hasEnded) {
        stream.listeners.add(listener);
        return stream;
      }
      if (this.statusStream !== current) continue; // another subscriber replaced it meanwhile
      const opening = WorkerStatusStream.open(this.endpoint, signal);
      this.statusStream = opening;
      const fresh = await opening;
      fresh.listeners.add(listener);
      return fresh;
    }
  }

  private parse<T>(parser: () => T): T {
    return withAddress(this.address, parser);
  }
}

/** Runs a reply parser, naming the scheduler in its errors. */
function withAddress<T>(address: string, parser: () => T): T {
  try {
    return parser();
  } catch (error) {
    if (error instanceof DaskProtocolError && error.address === undefined) {
      throw new DaskProtocolError(`${error.message} (scheduler at ${address})`, { address, cause: error });
    }
    throw error;
  }
}

async function request(comm: Comm, op: string, args: OutgoingMap, signal: AbortSignal): Promise<WireValue> {
  comm.write({ ...args, op, reply: true });
  return checkReply(comm.endpoint.address, op, await comm.read(signal));
}

/** Turns Dask's error reply (core.py `error_message`) into a `DaskSchedulerError`. */
function checkReply(address: string, op: string, reply: WireValue): WireValue {
  if (isWireMap(reply) && reply.status === 'uncaught-error') {
    throw new DaskSchedulerError({
      address,
      op,
      exceptionText: typeof reply.exception_text === 'string' ? reply.exception_text : 'unknown exception',
      tracebackText: typeof reply.traceback_text === 'string' ? reply.traceback_text : '',
    });
  }
  return reply;
}
