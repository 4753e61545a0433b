import { portRange, validatePort, validatePortList } from '@lazycluster/ports';
import type { RuntimeGroup } from '@lazycluster/runtime';
import type { ClusterProcess } from './cluster-process.js';
import { NoReachableHostsError } from './errors.js';
import type { MasterLauncher } from './master-launcher.js';
import { reasonOf, signalOption, throwAll } from './internal/options.js';
import { RuntimeCluster, type RuntimeClusterOptions } from './runtime-cluster.js';
import type { Unsubscribe } from './typed-emitter.js';
import type { WorkerLauncher } from './worker-launcher.js';

/**
 * What to do with a host that cannot be reached when the cluster starts:
 * - `'fail'`: the start fails with that host's error (everything already started is removed);
 * - `'skip'`: the host is dropped from the group, reported as `host-skipped`, and the cluster
 *   starts on the others (it fails only when no host is left).
 */
export type HostFailurePolicy = 'fail' | 'skip';

/** Options of a {@link MasterWorkerCluster}. */
export interface MasterWorkerClusterOptions extends RuntimeClusterOptions {
  /**
   * Ports for the master (when the default one is taken) and the workers, in order of preference.
   * @default DEFAULT_PORT_RANGE_START up to (not including) DEFAULT_PORT_RANGE_END
   */
  readonly ports?: readonly number[] | undefined;
  /** Starts the master; built on the same runtime group. */
  readonly masterLauncher: MasterLauncher<ClusterProcess>;
  /** Starts and scales the workers; built on the same runtime group. */
  readonly workerLauncher: WorkerLauncher<ClusterProcess>;
  /** @default 'fail' */
  readonly hostFailurePolicy?: HostFailurePolicy | undefined;
}

/** Options of {@link MasterWorkerCluster.start}. */
export interface ClusterStartOptions {
  /** @default the number of runtimes (after skipped hosts are dropped) */
  readonly workerCount?: number | undefined;
  /**
   * Use exactly this master port (`PortInUseError` when it is taken). Without it the class's
   * `DEFAULT_MASTER_PORT` is used when free everywhere, else the first free port of the list.
   */
  readonly masterPort?: number | undefined;
  /** Echo the output of the master and every worker, line by line. @default false */
  readonly debug?: boolean | undefined;
  /** Deadline for the master, then for the workers, each. @default 30000 */
  readonly timeoutMs?: number | undefined;
  /** Cancels the start; everything already started is removed. */
  readonly signal?: AbortSignal | undefined;
}

/** Options of {@link MasterWorkerCluster.startWorkers} and {@link MasterWorkerCluster.scale}. */
export type WorkersStartOptions = Omit<ClusterStartOptions, 'masterPort'>;

/** A snapshot of a running cluster, from {@link MasterWorkerCluster.status}. */
export interface ClusterStatus {
  readonly master: { readonly host: string; readonly port: number; readonly pid: number } | undefined;
  readonly workers: readonly { readonly host: string; readonly port: number; readonly pid: number; readonly index: number }[];
  /** Every host of the group, with its number of running workers. */
  readonly workersPerHost: Readonly<Record<string, number>>;
  readonly ports: {
    readonly master: number | undefined;
    readonly workers: readonly number[];
    /** Candidates not used yet, for more workers. */
    readonly available: readonly number[];
  };
}

/**
 * A master and its workers spread over a runtime group. Extend it (and the two launchers)
 * to make a new cluster type; `DaskCluster` is one.
 *
 * Subclasses may override the static defaults; they are read through the instance's own
 * class.
 *
 * @example
 * await using cluster = new MyCluster(new RuntimeGroup({ hosts: ['h1', 'h2'] }));
 * cluster.on('worker-started', (w) => log(`${w.host}: worker ${w.index}`));
 * await cluster.start({ workerCount: 4 });
 */
export abstract class MasterWorkerCluster extends RuntimeCluster {
  // NOTE: the Python original used 60000-60200, which lies inside Linux's default
  // ephemeral range (32768-60999): an outgoing connection can hold such a port between
  // our check and the bind. 61000 and up is outside it.
  /** The master port tried first when `start` is given none. */
  static DEFAULT_MASTER_PORT = 61_000;
  /** First port of the default port list. */
  static DEFAULT_PORT_RANGE_START = 61_001;
  /** End of the default port list (not included). */
  static DEFAULT_PORT_RANGE_END = 61_200;

  /** Starts the master. */
  readonly masterLauncher: MasterLauncher<ClusterProcess>;
  /** Starts and scales the workers. */
  readonly workerLauncher: WorkerLauncher<ClusterProcess>;
  readonly hostFailurePolicy: HostFailurePolicy;
  readonly #ports: number[];
  #portsLeft: number[];
  readonly #unsubscribe: Unsubscribe[];
  readonly #abort = new AbortController();
  #startCalled = false;
  #workersStarted = false;

  constructor(group: RuntimeGroup, options: MasterWorkerClusterOptions) {
    super(group, options);
    const { masterLauncher, workerLauncher } = options;
    if (masterLauncher.runtimeGroup !== group || workerLauncher.runtimeGroup !== group) {
      throw new TypeError('The master and worker launchers must be built on the runtime group given to the cluster.');
    }
    this.masterLauncher = masterLauncher;
    this.workerLauncher = workerLauncher;
    this.hostFailurePolicy = options.hostFailurePolicy ?? 'fail';
    const defaults = this.constructor as typeof MasterWorkerCluster;
    this.#ports = validatePortList(options.ports ?? portRange(defaults.DEFAULT_PORT_RANGE_START, defaults.DEFAULT_PORT_RANGE_END - 1));
    this.#portsLeft = [...this.#ports];
    this.#unsubscribe = [
      masterLauncher.on('master-started', (event) => this.emit('master-started', event)),
      masterLauncher.on('master-exited', (event) => this.emit('master-exited', event)),
      workerLauncher.on('worker-started', (event) => this.emit('worker-started', event)),
      workerLauncher.on('worker-exited', (event) => this.emit('worker-exited', event)),
    ];
  }

  /** The master port once the master runs; `undefined` before. */
  get masterPort(): number | undefined {
    return this.masterLauncher.port;
  }

  /** The ports the cluster chooses from (as given, or the class's default range). */
  get ports(): number[] {
    return [...this.#ports];
  }

  /**
   * Connects to every host (in parallel, applying the host failure policy), starts the master,
   * then the workers. Any failure removes everything already started (the cluster is then
   * cleaned up; make a new one to try again) and rethrows the failure's own typed error.
   *
   * @throws PortInUseError when `masterPort` is given and taken.
   * @throws NoPortsLeftError when too few ports are free everywhere.
   * @throws MasterStartError / WorkerStartError when a process does not come up.
   * @throws the host's connection error under the `'fail'` policy; NoReachableHostsError under `'skip'` when none is left.
   */
  async start(options: ClusterStartOptions = {}): Promise<void> {
    this.#assertUsable();
    this.registerCleanupOnExit();
    if (this.#startCalled) throw new Error('This cluster has already been started; use scale() to change the number of workers.');
    this.#startCalled = true;
    const signal = this.#signal(options.signal);
    try {
      await this.connectHosts({ signal });
      await this.startMaster({ ...options, signal });
      await this.startWorkers({ ...options, signal, workerCount: options.workerCount ?? this.runtimeGroup.runtimeCount });
    } catch (error) {
      this.logger.error?.(`the cluster did not start, removing what was started: ${reasonOf(error)}`);
      await this.cleanupWithReason('start-failed');
      throw error;
    }
  }

  /**
   * Opens a connection to every host of the group, in parallel, and applies the host
   * failure policy. `start` calls it first.
   */
  async connectHosts(options: { signal?: AbortSignal | undefined } = {}): Promise<void> {
    this.#assertUsable();
    this.registerCleanupOnExit();
    const runtimes = this.runtimeGroup.runtimes;
    const results = await Promise.allSettled(runtimes.map(async (runtime) => await runtime.connect(signalOption(options.signal))));
    options.signal?.throwIfAborted();
    const failures = runtimes.flatMap((runtime, i) => {
      const result = results[i];
      return result?.status === 'rejected' ? [{ host: runtime.host, error: result.reason as unknown }] : [];
    });
    if (failures.length === 0) return;
    const first = failures[0];
    if (this.hostFailurePolicy === 'fail' && first !== undefined) throw first.error;
    for (const { host, error } of failures) {
      this.logger.warn?.(`skipping ${host}: ${reasonOf(error)}`);
      await this.runtimeGroup.removeRuntime(host).catch(() => undefined);
      this.emit('host-skipped', { host, reason: reasonOf(error), error });
    }
    if (this.runtimeGroup.runtimeCount === 0) {
      throw new NoReachableHostsError({
        failures: failures.map(({ host, error }) => ({ host, reason: reasonOf(error) })),
        cause: failures.length === 1 ? first?.error : new AggregateError(failures.map((f) => f.error)),
      });
    }
  }

  /**
   * Chooses the master port and starts the master. With `masterPort`, exactly that port;
   * otherwise the class's `DEFAULT_MASTER_PORT` when it is free on every runtime and the
   * manager, else the first free port of the cluster's list. The ports after the chosen one
   * are kept for the workers.
   *
   * @returns the master port.
   */
  async startMaster(options: Omit<ClusterStartOptions, 'workerCount'> = {}): Promise<number> {
    this.#assertUsable();
    this.registerCleanupOnExit();
    const launchOptions = { timeoutMs: options.timeoutMs, debug: options.debug, signal: this.#signal(options.signal) };
    if (options.masterPort !== undefined) {
      const port = validatePort(options.masterPort);
      await this.masterLauncher.start(port, launchOptions);
      this.#portsLeft = this.#ports.filter((candidate) => candidate !== port);
      return port;
    }
    const preferred = (this.constructor as typeof MasterWorkerCluster).DEFAULT_MASTER_PORT;
    const candidates = [preferred, ...this.#ports.filter((candidate) => candidate !== preferred)];
    this.#portsLeft = await this.masterLauncher.start(candidates, launchOptions);
    const port = this.masterLauncher.port;
    if (port === undefined) throw new Error('The master launcher started but reports no port.');
    return port;
  }

  /**
   * Starts `workerCount` workers (after the master) with the ports the master left over.
   * @default workerCount: the number of runtimes
   */
  async startWorkers(options: WorkersStartOptions = {}): Promise<void> {
    this.#assertUsable();
    this.registerCleanupOnExit();
    const masterPort = this.masterPort;
    if (masterPort === undefined) throw new Error('Start the master (startMaster()) before the workers.');
    const count = options.workerCount ?? this.runtimeGroup.runtimeCount;
    this.#portsLeft = await this.workerLauncher.start(count, masterPort, this.#portsLeft, {
      timeoutMs: options.timeoutMs,
      debug: options.debug,
      signal: this.#signal(options.signal),
    });
    this.#workersStarted = true;
  }

  /**
   * Grows or shrinks the running cluster to `workerCount` workers. New workers are placed by
   * the worker launcher's strategy; the workers with the highest indexes are removed first.
   */
  async scale(workerCount: number, options: Omit<WorkersStartOptions, 'workerCount'> = {}): Promise<void> {
    this.#assertUsable();
    if (!Number.isInteger(workerCount) || workerCount < 0) throw new RangeError(`workerCount must be a whole number >= 0, got ${workerCount}.`);
    if (!this.#workersStarted) throw new Error('Start the cluster before scaling it.');
    const current = this.workerLauncher.workers.length;
    if (workerCount > current) {
      await this.workerLauncher.addWorkers(workerCount - current, {
        timeoutMs: options.timeoutMs,
        debug: options.debug,
        signal: this.#signal(options.signal),
      });
    } else if (workerCount < current) {
      await this.workerLauncher.removeWorkers(current - workerCount);
    }
  }

  /** The master, the workers and the ports, as they are now. */
  status(): ClusterStatus {
    const master = this.masterLauncher.process;
    const port = this.masterLauncher.port;
    const workers = this.workerLauncher.workers.map(({ host, port: workerPort, pid, index }) => ({ host, port: workerPort, pid, index }));
    const workersPerHost: Record<string, number> = Object.fromEntries(this.runtimeGroup.hosts.map((host) => [host, 0]));
    for (const worker of workers) workersPerHost[worker.host] = (workersPerHost[worker.host] ?? 0) + 1;
    return {
      master: master === undefined || port === undefined ? undefined : { host: this.masterLauncher.host, port, pid: master.pid },
      workers,
      workersPerHost,
      ports: { master: port, workers: workers.map((worker) => worker.port), available: this.workerLauncher.masterPort === undefined ? [...this.#portsLeft] : this.workerLauncher.portsLeft },
    };
  }

  /** Writes the execution log of every runtime of the group. @default out: process.stdout */
  printLog(out: NodeJS.WritableStream = process.stdout): void {
    this.runtimeGroup.printLog(out);
  }

  /** Workers, then the master (each closing its tunnels after its processes); the group follows. */
  protected override async releaseResources(): Promise<void> {
    this.#abort.abort(new Error('the cluster is being cleaned up'));
    const errors: unknown[] = [];
    await this.workerLauncher.cleanup().catch((error: unknown) => errors.push(error));
    await this.masterLauncher.cleanup().catch((error: unknown) => errors.push(error));
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    throwAll(errors.flatMap((error): unknown[] => (error instanceof AggregateError ? (error.errors as unknown[]) : [error])), 'stopping the cluster');
  }

  protected override killNow(): void {
    this.workerLauncher.killNow();
    this.masterLauncher.killNow();
  }

  #signal(signal: AbortSignal | undefined): AbortSignal {
    return signal === undefined ? this.#abort.signal : AbortSignal.any([signal, this.#abort.signal]);
  }

  #assertUsable(): void {
    if (this.isCleanedUp) throw new Error('This cluster has been cleaned up; create a new one.');
  }
}
