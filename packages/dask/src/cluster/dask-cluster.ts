import {
  MasterWorkerCluster,
  type ClusterProcess,
  type MasterLauncher,
  type MasterWorkerClusterOptions,
  type WorkerLauncher,
} from '@lazycluster/core';
import type { RuntimeGroup } from '@lazycluster/runtime';
import { DaskClient } from '../client/dask-client.js';
import { sleep } from '../client/deadline.js';
import { DaskConnectionError, TimeoutError } from '../client/errors.js';
import { tcpAddress } from './internal/commands.js';
import { checkNetwork, checkSchedulerOptions, checkWorkerOptions } from './internal/validate.js';
import { LocalMasterLauncher } from './local-master-launcher.js';
import type { DaskNetwork, DaskSchedulerOptions, DaskWorkerOptions } from './options.js';
import { RoundRobinLauncher } from './round-robin-launcher.js';

/** Options of a {@link DaskCluster}. */
export interface DaskClusterOptions extends Omit<MasterWorkerClusterOptions, 'masterLauncher' | 'workerLauncher'> {
  /** Starts the scheduler. @default a {@link LocalMasterLauncher} (the scheduler on the manager) */
  readonly masterLauncher?: MasterLauncher<ClusterProcess> | undefined;
  /** Starts and scales the workers. @default a {@link RoundRobinLauncher} */
  readonly workerLauncher?: WorkerLauncher<ClusterProcess> | undefined;
  /**
   * `'tunnel'`: everything over SSH tunnels and loopback; `'direct'`: the hosts' own addresses,
   * no tunnels. Applies to the default launchers.
   * @default 'tunnel'
   */
  readonly network?: DaskNetwork | undefined;
  /** How the default worker launcher starts each worker. */
  readonly worker?: DaskWorkerOptions | undefined;
  /** How the default master launcher starts the scheduler. */
  readonly scheduler?: DaskSchedulerOptions | undefined;
}

/** Options of {@link DaskCluster.getClient}. */
export interface GetClientOptions {
  /** @default 2000 */
  readonly timeoutMs?: number | undefined;
  readonly signal?: AbortSignal | undefined;
}

const GET_CLIENT_TIMEOUT_MS = 2_000;

/**
 * A Dask cluster on a runtime group: the scheduler on the manager, the workers spread
 * round-robin over the runtimes (one per runtime unless told otherwise), reached through SSH
 * tunnels by default. Cleanup retires the workers through the scheduler, stops them and the
 * scheduler, closes the tunnels and checks that no process is left.
 *
 * @example
 * await using cluster = new DaskCluster(new RuntimeGroup({ hosts: ['h1', 'h2'] }), { worker: { nthreads: 2 } });
 * await cluster.start();
 * await using client = await cluster.getClient();
 * console.log(await client.workers());
 * // Python on the manager: Client() finds the scheduler through the environment
 * execFileSync('/usr/bin/python3', ['job.py'], { env: { ...process.env, ...cluster.env } });
 */
export class DaskCluster extends MasterWorkerCluster {
  /** Dask's own scheduler port, tried first. */
  static override DEFAULT_MASTER_PORT = 8786;

  readonly network: DaskNetwork;

  constructor(group: RuntimeGroup, options: DaskClusterOptions = {}) {
    const { masterLauncher, workerLauncher, network: given, worker, scheduler, ...base } = options;
    const network = checkNetwork(given ?? 'tunnel');
    const workerOptions = checkWorkerOptions(worker ?? {});
    const schedulerOptions = checkSchedulerOptions(scheduler ?? {});
    const logger = base.logger;
    super(group, {
      ...base,
      masterLauncher: masterLauncher ?? new LocalMasterLauncher(group, { ...schedulerOptions, network, logger }),
      workerLauncher: workerLauncher ?? new RoundRobinLauncher(group, { ...workerOptions, network, logger }),
    });
    this.network = network;
  }

  /** Connects to every host; meanwhile the default launchers check what they will need there. */
  override async connectHosts(options: { signal?: AbortSignal | undefined } = {}): Promise<void> {
    if (this.masterLauncher instanceof LocalMasterLauncher) this.masterLauncher.prepare();
    if (this.workerLauncher instanceof RoundRobinLauncher) this.workerLauncher.prepare();
    await super.connectHosts(options);
  }

  /**
   * Where the manager reaches the scheduler: `tcp://127.0.0.1:<port>` in `'tunnel'` mode, the
   * manager's own address in `'direct'` mode; `undefined` until the scheduler runs.
   */
  get schedulerAddress(): string | undefined {
    if (this.masterLauncher instanceof LocalMasterLauncher) return this.masterLauncher.schedulerAddress;
    const port = this.masterPort;
    return port === undefined ? undefined : tcpAddress('127.0.0.1', port);
  }

  /** The scheduler's dashboard; `undefined` when there is none (Dask serves it only with `bokeh`). */
  get dashboardLink(): string | undefined {
    return this.masterLauncher instanceof LocalMasterLauncher ? this.masterLauncher.dashboardLink : undefined;
  }

  /**
   * Environment variables that point Python's `distributed.Client()` at this cluster:
   * `{ DASK_SCHEDULER_ADDRESS }`. Throws before the cluster has started.
   */
  get env(): { readonly DASK_SCHEDULER_ADDRESS: string } {
    return { DASK_SCHEDULER_ADDRESS: this.#requireAddress() };
  }

  /**
   * A new client connected to the scheduler; close it when done (or `await using` it). A
   * refused connection is tried again until `timeoutMs`.
   * @throws TimeoutError when it cannot connect within `timeoutMs`.
   */
  async getClient(options: GetClientOptions = {}): Promise<DaskClient> {
    const address = this.#requireAddress();
    const timeoutMs = options.timeoutMs ?? GET_CLIENT_TIMEOUT_MS;
    const signal = options.signal ?? new AbortController().signal;
    const deadline = Date.now() + timeoutMs;
    for (let pause = 10; ; pause = Math.min(pause * 2, 200)) {
      try {
        return await DaskClient.connect(address, { timeoutMs: Math.max(deadline - Date.now(), 0), signal });
      } catch (error) {
        if (!(error instanceof DaskConnectionError) || signal.aborted) throw error;
        if (Date.now() + pause >= deadline) {
          throw new TimeoutError({
            address,
            operation: 'getClient',
            timeoutMs,
            detail: error.message,
            hint: 'The scheduler refuses connections: check that the cluster is still running (cluster.status()).',
          });
        }
      }
      await sleep(pause, signal);
    }
  }

  /**
   * Workers first (retired through the scheduler, then stopped, then their tunnels closed),
   * then the scheduler and its tunnels; then checks that none of their processes is left.
   */
  protected override async releaseResources(): Promise<void> {
    const processes = [this.masterLauncher.process, ...this.workerLauncher.workers.map((worker) => worker.process)];
    const errors: unknown[] = [];
    try {
      await super.releaseResources();
    } catch (error) {
      errors.push(...(error instanceof AggregateError ? (error.errors as unknown[]) : [error]));
    }
    const left = processes.filter((process) => process?.running === true);
    if (left.length > 0) {
      const list = left.map((process) => `${process?.host ?? '?'} pid ${process?.pid ?? '?'}`).join(', ');
      errors.push(new Error(`Dask processes still run after they were stopped (${list}); the runtime cleanup that follows kills them.`));
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `${errors.length} steps failed while stopping the Dask cluster`);
  }

  #requireAddress(): string {
    const address = this.schedulerAddress;
    if (address === undefined) throw new Error('The Dask cluster is not running: call start() first.');
    return address;
  }
}
