import {
  NoPortsLeftError,
  defaultPortLeases,
  isLazyclusterError,
  negotiatePorts,
  validatePort,
  type PortLease,
  type PortLeases,
} from '@lazycluster/ports';
import type { Logger, ProcessOutcome, RemoteProcess, Runtime, RuntimeGroup, Tunnel } from '@lazycluster/runtime';
import type { ClusterProcess } from './cluster-process.js';
import { WorkerStartError } from './errors.js';
import type { WorkerLauncherEvents } from './events.js';
import type { CapturedOutput } from './internal/output.js';
import {
  DEFAULT_START_TIMEOUT_MS,
  DEFAULT_STOP_GRACE_MS,
  SILENT_LOGGER,
  anySignal,
  reasonOf,
  throwAll,
} from './internal/options.js';
import { attemptStart } from './internal/start-attempt.js';
import type { LauncherOptions, LauncherStartOptions } from './launcher-options.js';
import { TypedEmitter, type EventListener, type Unsubscribe } from './typed-emitter.js';

/** Options of a {@link WorkerLauncher}. */
export type WorkerLauncherOptions = LauncherOptions;

/** Options of {@link WorkerLauncher.start} and {@link WorkerLauncher.addWorkers}. */
export type WorkerStartOptions = LauncherStartOptions;

/** What {@link WorkerLauncher.launchWorker} receives. */
export interface WorkerLaunchContext {
  /** The runtime the worker runs on, chosen by {@link WorkerLauncher.pickHost}. */
  readonly runtime: Runtime;
  /** The worker's index: the lowest one not in use, so indexes stay 0..n-1. */
  readonly index: number;
  /** A port free on every runtime and the manager, leased for this worker. */
  readonly port: number;
  /** The master port, reachable on the runtime's 127.0.0.1 (when the master launcher tunnels it). */
  readonly masterPort: number;
  readonly debug: boolean;
  /** Aborted at the deadline, on cancellation, when a sibling worker failed and on cleanup. */
  readonly signal: AbortSignal;
}

/** What {@link WorkerLauncher.waitUntilWorkerReady} receives. */
export interface WorkerReadyContext<P extends ClusterProcess> extends WorkerLaunchContext {
  /** The process `launchWorker` returned. */
  readonly process: P;
}

/** A running worker. */
export interface WorkerInfo<P extends ClusterProcess = ClusterProcess> {
  readonly index: number;
  readonly host: string;
  readonly port: number;
  readonly pid: number;
  readonly process: P;
}

interface WorkerRecord<P extends ClusterProcess> {
  readonly index: number;
  readonly host: string;
  readonly port: number;
  readonly process: P;
  readonly lease: PortLease;
  readonly output: CapturedOutput;
  tunnel: Tunnel | undefined;
  stopping: boolean;
  gone: boolean;
  retired: Promise<void> | undefined;
}

interface Placement {
  readonly index: number;
  readonly host: string;
  readonly port: number;
  readonly lease: PortLease;
}

/**
 * Starts the workers of a master/worker cluster, and scales them. The base class places
 * workers on hosts ({@link pickHost}, round-robin by default), negotiates one port per worker
 * that is free on every runtime and the manager (one probe round for all of them), launches
 * them concurrently, enforces the deadline, tunnels each worker port to the manager and every
 * other runtime, and watches for workers that exit on their own. A subclass says how to launch
 * one worker and how to tell that it is ready.
 *
 * @typeParam P - the process type `launchWorker` returns.
 * @example
 * class SleepWorkers extends WorkerLauncher {
 *   protected async launchWorker({ runtime, port }: WorkerLaunchContext) {
 *     return await runtime.spawn(['/usr/bin/python3', '-m', 'http.server', String(port), '--bind', '127.0.0.1']);
 *   }
 *   protected async waitUntilWorkerReady({ process, signal }: WorkerReadyContext<RemoteProcess>) {
 *     await waitForOutputLine(process, 'Serving HTTP', { signal });
 *   }
 * }
 */
export abstract class WorkerLauncher<P extends ClusterProcess = RemoteProcess> {
  /** The group whose runtimes the workers run on. */
  readonly runtimeGroup: RuntimeGroup;
  protected readonly logger: Logger;
  readonly #leases: PortLeases;
  readonly #stopGraceMs: number;
  readonly #output: NodeJS.WritableStream | undefined;
  readonly #events: TypedEmitter<WorkerLauncherEvents>;
  readonly #workers = new Map<number, WorkerRecord<P>>();
  readonly #reservedIndexes = new Set<number>();
  readonly #inFlight = new Set<Promise<unknown>>();
  #abort = new AbortController();
  #masterPort: number | undefined;
  #portsLeft: number[] = [];
  #defaults: WorkerStartOptions = {};
  #cleaning: Promise<void> | undefined;

  constructor(group: RuntimeGroup, options: WorkerLauncherOptions = {}) {
    this.runtimeGroup = group;
    this.logger = options.logger ?? SILENT_LOGGER;
    this.#leases = options.leases ?? defaultPortLeases;
    this.#stopGraceMs = options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
    this.#output = options.output;
    this.#events = new TypedEmitter({
      onListenerError: (error, event) => this.logger.warn?.(`a listener of ${event} threw: ${reasonOf(error)}`),
    });
  }

  /** The running workers, by index. */
  get workers(): WorkerInfo<P>[] {
    return [...this.#workers.values()]
      .filter((record) => !record.gone)
      .sort((a, b) => a.index - b.index)
      .map((record) => ({ index: record.index, host: record.host, port: record.port, pid: record.process.pid, process: record.process }));
  }

  /** The ports of the running workers, per host; every host of the group is listed. */
  get portsPerHost(): Record<string, number[]> {
    const perHost: Record<string, number[]> = Object.fromEntries(this.runtimeGroup.hosts.map((host) => [host, []]));
    for (const worker of this.workers) (perHost[worker.host] ??= []).push(worker.port);
    return perHost;
  }

  /** The master port given to `start`; `undefined` before it and after `cleanup`. */
  get masterPort(): number | undefined {
    return this.#masterPort;
  }

  /** The candidate ports not used yet, for later workers. */
  get portsLeft(): number[] {
    return [...this.#portsLeft];
  }

  /** Subscribes to `worker-started` / `worker-exited`. */
  on<K extends keyof WorkerLauncherEvents>(event: K, listener: EventListener<WorkerLauncherEvents[K]>): Unsubscribe {
    return this.#events.on(event, listener);
  }

  /**
   * Launches `workerCount` workers concurrently and tunnels their ports. All or nothing: when
   * one worker fails, the others of this call are stopped and its error is thrown.
   *
   * @param ports - candidate worker ports in order of preference; only ports free everywhere are used.
   * @returns the candidates left after the last port used, for whoever needs ports next.
   * @throws NoPortsLeftError when fewer than `workerCount` candidates are free everywhere.
   * @throws WorkerStartError when a worker exits early, fails to launch or is not ready in time.
   */
  async start(workerCount: number, masterPort: number, ports: readonly number[], options: WorkerStartOptions = {}): Promise<number[]> {
    checkCount(workerCount, 'workerCount');
    validatePort(masterPort);
    if (this.#masterPort !== undefined) {
      throw new Error('The worker launcher has already been started; use addWorkers() to add workers, or cleanup() first.');
    }
    this.#masterPort = masterPort;
    this.#portsLeft = [...ports];
    this.#defaults = options;
    try {
      await this.addWorkers(workerCount, options);
    } catch (error) {
      this.#masterPort = undefined;
      throw error;
    }
    return this.portsLeft;
  }

  /**
   * Launches `count` more workers (after `start`), placed by {@link pickHost}, with ports
   * from {@link portsLeft}. All or nothing, as `start`; the workers already running are
   * never touched.
   */
  async addWorkers(count: number, options: WorkerStartOptions = this.#defaults): Promise<WorkerInfo<P>[]> {
    checkCount(count, 'count');
    const masterPort = this.#masterPort;
    if (masterPort === undefined) throw new Error('The worker launcher has not been started: call start() before addWorkers().');
    if (count === 0) return [];
    const batch = this.#addBatch(count, masterPort, options);
    this.#inFlight.add(batch);
    try {
      return await batch;
    } finally {
      this.#inFlight.delete(batch);
    }
  }

  /**
   * Stops the `count` workers with the highest indexes (SIGTERM, then SIGKILL after
   * `stopGraceMs`), closes their tunnels and gives their ports back for later workers.
   * They are reported as `worker-exited` with `expected: true`.
   */
  async removeWorkers(count: number): Promise<void> {
    checkCount(count, 'count');
    const live = [...this.#workers.values()].filter((record) => !record.gone && !record.stopping).sort((a, b) => b.index - a.index);
    if (count > live.length) throw new RangeError(`Cannot remove ${count} workers: only ${live.length} are running.`);
    const errors: unknown[] = [];
    await Promise.all(live.slice(0, count).map(async (record) => await this.#stop(record, errors)));
    throwAll(errors, 'removing workers');
  }

  /**
   * Makes every running worker's port reachable on the manager and on every other runtime,
   * at the same port (see {@link exposeWorker}); workers that already have their tunnel are
   * left alone. `start` and `addWorkers` call it; call it again after adding a runtime.
   */
  async setupWorkerTunnels(): Promise<void> {
    const pending = [...this.#workers.values()].filter((record) => !record.gone && !record.stopping && record.tunnel === undefined);
    await this.#tunnel(pending);
  }

  /**
   * Stops every worker, closes their tunnels, releases their ports; in-flight starts are
   * cancelled. Idempotent and safe to call concurrently; the launcher can be started again.
   */
  async cleanup(): Promise<void> {
    this.#cleaning ??= (async () => {
      try {
        this.#abort.abort(new Error('the worker launcher is being cleaned up'));
        await Promise.allSettled([...this.#inFlight]);
        const errors: unknown[] = [];
        await Promise.all([...this.#workers.values()].map(async (record) => await this.#stop(record, errors)));
        try {
          await this.onCleanup();
        } catch (error) {
          errors.push(error);
        }
        this.#abort = new AbortController();
        this.#masterPort = undefined;
        this.#portsLeft = [];
        throwAll(errors, 'cleaning up the workers');
      } finally {
        this.#cleaning = undefined;
      }
    })();
    await this.#cleaning;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.cleanup();
  }

  /** Sends SIGKILL to every worker now, without waiting; for a process that is about to exit. */
  killNow(): void {
    for (const record of this.#workers.values()) if (record.process.running) record.process.kill('SIGKILL');
  }

  /** Starts worker `context.index` on `context.runtime`, listening on `context.port`. */
  protected abstract launchWorker(context: WorkerLaunchContext): Promise<P>;

  /**
   * Resolves once the worker is ready. Observe (a line of output, a connection); never
   * sleep a fixed time. Stop waiting when `context.signal` aborts.
   */
  protected abstract waitUntilWorkerReady(context: WorkerReadyContext<P>): Promise<void>;

  /**
   * The host for worker `index`, one of `hosts` (the group's hosts, in order).
   * Default: round-robin, worker i on host i mod n.
   */
  protected pickHost(index: number, hosts: readonly string[]): string {
    const host = hosts[index % hosts.length];
    if (host === undefined) throw new Error('The runtime group has no hosts to place workers on.');
    return host;
  }

  /**
   * Whether a worker that exited on its own did what it should (a worker that ends when
   * its work is done, say). Only decides the `expected` flag of `worker-exited`. @default false
   */
  protected isExpectedExit(_worker: WorkerInfo<P>, _outcome: ProcessOutcome): boolean {
    return false;
  }

  /**
   * Makes one worker's port reachable where it is needed. Default: on the manager and on
   * every other runtime, at the same port. Override to return `undefined` when hosts reach
   * each other directly.
   */
  protected async exposeWorker(worker: WorkerInfo<P>): Promise<Tunnel | undefined> {
    return await this.runtimeGroup.exposePortFromRuntimeToGroup(worker.host, worker.port);
  }

  /** Releases what the subclass holds, after every worker is stopped; called by `cleanup()`. */
  protected async onCleanup(): Promise<void> {
    // Nothing by default.
  }

  async #addBatch(count: number, masterPort: number, options: WorkerStartOptions): Promise<WorkerInfo<P>[]> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    const debug = options.debug ?? false;
    const signal = anySignal([options.signal, this.#abort.signal]);
    signal.throwIfAborted();
    const hosts = this.runtimeGroup.hosts;
    if (hosts.length === 0) throw new Error('The runtime group has no hosts to place workers on.');

    if (this.#portsLeft.length === 0) throw new NoPortsLeftError({ candidates: [], blocked: {}, needed: count });
    const negotiated = await negotiatePorts(count, {
      candidates: this.#portsLeft,
      probes: this.runtimeGroup.portProbes({ includeManager: true }),
      leases: this.#leases,
      owner: 'worker',
      signal,
    });
    this.#portsLeft = negotiated.remaining;
    const indexes = this.#reserveIndexes(count);
    const giveBack = (): void => {
      for (const lease of negotiated.leases) lease.release();
      for (const index of indexes) this.#reservedIndexes.delete(index);
      this.#returnPorts(negotiated.ports);
    };

    let placements: Placement[];
    try {
      placements = indexes.map((index, i) => {
        const host = this.pickHost(index, hosts);
        this.runtimeGroup.getRuntime(host);
        return { index, host, port: negotiated.ports[i] as number, lease: negotiated.leases[i] as PortLease };
      });
    } catch (error) {
      giveBack();
      throw error;
    }

    const batchAbort = new AbortController();
    const batchSignal = anySignal([signal, batchAbort.signal]);
    const echoOut = debug ? (this.#output ?? process.stdout) : undefined;
    const results = await Promise.all(
      placements.map(async (placement) => {
        const result = await this.#startOne(placement, masterPort, { timeoutMs, debug, signal: batchSignal, echoOut });
        if ('error' in result) batchAbort.abort(result.error);
        return result;
      }),
    );
    const records = results.flatMap((result) => ('record' in result ? [result.record] : []));
    const failure = results.find((result) => 'error' in result);
    if (failure !== undefined) {
      await this.#discard(records);
      giveBack();
      throw batchAbort.signal.reason;
    }
    for (const record of records) {
      this.#workers.set(record.index, record);
      this.#reservedIndexes.delete(record.index);
    }
    try {
      await this.#tunnel(records);
      signal.throwIfAborted();
    } catch (error) {
      await this.#discard(records);
      giveBack();
      throw error;
    }
    for (const record of records) {
      this.logger.info?.(`worker ${record.index} ready on ${record.host} port ${record.port} (pid ${record.process.pid})`);
      this.#events.emit('worker-started', { host: record.host, port: record.port, index: record.index, pid: record.process.pid });
      this.#watch(record);
    }
    return records.map((record) => ({ index: record.index, host: record.host, port: record.port, pid: record.process.pid, process: record.process }));
  }

  async #startOne(
    placement: Placement,
    masterPort: number,
    options: { timeoutMs: number; debug: boolean; signal: AbortSignal; echoOut: NodeJS.WritableStream | undefined },
  ): Promise<{ record: WorkerRecord<P> } | { error: unknown }> {
    const { index, host, port } = placement;
    const runtime = this.runtimeGroup.getRuntime(host);
    const base = { runtime, index, port, masterPort, debug: options.debug };
    this.logger.debug?.(`starting worker ${index} on ${host} port ${port}`);
    const attempt = await attemptStart<P>({
      launch: async (signal) => await this.launchWorker({ ...base, signal }),
      waitUntilReady: async (process, signal) => await this.waitUntilWorkerReady({ ...base, signal, process }),
      timeoutMs: options.timeoutMs,
      signal: options.signal,
      echo: options.echoOut === undefined ? undefined : { out: options.echoOut, prefix: `[${host} worker ${index}] ` },
    });
    if (attempt.kind === 'ready') {
      return {
        record: { index, host, port, process: attempt.process, lease: placement.lease, output: attempt.output, tunnel: undefined, stopping: false, gone: false, retired: undefined },
      };
    }
    if (attempt.process !== undefined) await attempt.process.stop({ graceMs: this.#stopGraceMs }).catch(() => undefined);
    const stderrTail = attempt.output?.stderr.text() ?? '';
    switch (attempt.kind) {
      case 'aborted':
        return { error: attempt.reason };
      case 'timeout':
        return { error: new WorkerStartError({ host, port, index, reason: 'timeout', timeoutMs: options.timeoutMs, stderrTail }) };
      case 'exited':
        return {
          error: new WorkerStartError({ host, port, index, reason: 'exited', exitCode: attempt.outcome.exitCode, signal: attempt.outcome.signal, stderrTail }),
        };
      case 'failed':
        return { error: isLazyclusterError(attempt.error) ? attempt.error : new WorkerStartError({ host, port, index, reason: 'failed', stderrTail, cause: attempt.error }) };
    }
  }

  async #tunnel(records: readonly WorkerRecord<P>[]): Promise<void> {
    const results = await Promise.allSettled(
      records.map(async (record) => {
        const tunnel = await this.exposeWorker(infoOf(record));
        if (record.gone || record.stopping) await tunnel?.close();
        else record.tunnel = tunnel;
      }),
    );
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  /** Stops workers of a batch that did not make it, without reporting them as exited. */
  async #discard(records: readonly WorkerRecord<P>[]): Promise<void> {
    await Promise.all(
      records.map(async (record) => {
        record.stopping = true;
        record.gone = true;
        await record.process.stop({ graceMs: this.#stopGraceMs }).catch(() => undefined);
        await record.tunnel?.close().catch(() => undefined);
        record.tunnel = undefined;
        if (this.#workers.get(record.index) === record) this.#workers.delete(record.index);
      }),
    );
  }

  #watch(record: WorkerRecord<P>): void {
    const onExit = (outcome: ProcessOutcome): void => {
      const expected = record.stopping || this.isExpectedExit(infoOf(record), outcome);
      if (!expected) {
        const tail = record.output.stderr.text().split('\n').slice(-3).join(' | ');
        this.logger.warn?.(`worker ${record.index} on ${record.host} exited on its own (exit code ${outcome.exitCode}, signal ${outcome.signal})${tail === '' ? '' : `: ${tail}`}`);
      }
      this.#events.emit('worker-exited', { host: record.host, port: record.port, index: record.index, exitCode: outcome.exitCode, signal: outcome.signal, expected });
      if (!record.stopping) {
        this.#retire(record).catch((error: unknown) => this.logger.warn?.(`closing the tunnel of worker ${record.index}: ${reasonOf(error)}`));
      }
    };
    record.process.outcome.then(onExit, () => onExit({ exitCode: null, signal: null }));
  }

  async #stop(record: WorkerRecord<P>, errors: unknown[]): Promise<void> {
    record.stopping = true;
    try {
      await record.process.stop({ graceMs: this.#stopGraceMs });
    } catch (error) {
      errors.push(error);
    }
    try {
      await this.#retire(record);
    } catch (error) {
      errors.push(error);
    }
  }

  /** Closes a worker's tunnel, releases its port and forgets it; once per worker. */
  async #retire(record: WorkerRecord<P>): Promise<void> {
    record.retired ??= (async () => {
      record.gone = true;
      try {
        await record.tunnel?.close();
      } finally {
        record.tunnel = undefined;
        record.lease.release();
        if (this.#workers.get(record.index) === record) this.#workers.delete(record.index);
        this.#returnPorts([record.port]);
      }
    })();
    await record.retired;
  }

  #reserveIndexes(count: number): number[] {
    const indexes: number[] = [];
    for (let index = 0; indexes.length < count; index++) {
      if (this.#workers.has(index) || this.#reservedIndexes.has(index)) continue;
      this.#reservedIndexes.add(index);
      indexes.push(index);
    }
    return indexes;
  }

  /** Puts ports that are no longer used back in front of the candidates, for the next workers. */
  #returnPorts(ports: readonly number[]): void {
    const back = ports.filter((port) => !this.#portsLeft.includes(port));
    this.#portsLeft = [...back, ...this.#portsLeft];
  }
}

function infoOf<P extends ClusterProcess>(record: WorkerRecord<P>): WorkerInfo<P> {
  return { index: record.index, host: record.host, port: record.port, pid: record.process.pid, process: record.process };
}

function checkCount(count: number, name: string): void {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`${name} must be a whole number >= 0, got ${count}.`);
}
