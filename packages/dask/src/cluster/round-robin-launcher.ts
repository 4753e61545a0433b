import {
  WorkerLauncher,
  type WorkerInfo,
  type WorkerLaunchContext,
  type WorkerLauncherOptions,
  type WorkerReadyContext,
} from '@lazycluster/core';
import type { RemoteProcess, Runtime, RuntimeGroup, Tunnel } from '@lazycluster/runtime';
import { DaskClient } from '../client/dask-client.js';
import { DaskConfigError } from '../client/errors.js';
import { tcpAddress, workerCommand, workerName } from './internal/commands.js';
import { directManagerAddress, hostFacts, requirePython } from './internal/host-facts.js';
import { checkNetwork, checkWorkerOptions } from './internal/validate.js';
import { WorkerRegistrations } from './internal/worker-registrations.js';
import type { DaskNetwork, DaskWorkerOptions } from './options.js';

/** Options of a {@link RoundRobinLauncher}: how workers are started, and how they are reached. */
export interface RoundRobinLauncherOptions extends WorkerLauncherOptions, DaskWorkerOptions {
  /** @default 'tunnel' */
  readonly network?: DaskNetwork | undefined;
}

const CONNECT_TIMEOUT_MS = 5_000;
// Retiring moves data off the workers first; when that takes longer they are stopped anyway.
const SCALE_DOWN_RETIRE_MS = 30_000;
const CLEANUP_RETIRE_MS = 5_000;

/**
 * Starts Dask workers round-robin over the group: worker i on runtime i mod n, all at once.
 * Each worker gets a port free on every host, its runtime's working directory as local
 * directory, and the name `<host>-<i>`. In `'tunnel'` mode it listens on its host's
 * 127.0.0.1 and its port is tunnelled to the manager and every other runtime, so the
 * scheduler, the workers and clients reach each other over loopback; in `'direct'` mode it
 * listens on its host's own address. A worker is ready once the scheduler lists it (one
 * polling loop serves every worker of a start). Removed workers are first retired through
 * the scheduler, so their data moves to the workers that stay.
 *
 * @example
 * const workers = new RoundRobinLauncher(group, { nthreads: 2, memoryLimit: '2GB' });
 */
export class RoundRobinLauncher extends WorkerLauncher {
  readonly network: DaskNetwork;
  /** The options every worker is started with. */
  readonly workerOptions: DaskWorkerOptions;
  #registrations: { readonly masterPort: number; readonly watch: WorkerRegistrations } | undefined;
  #cleaning: Promise<void> | undefined;

  constructor(group: RuntimeGroup, options: RoundRobinLauncherOptions = {}) {
    const { network, nthreads, memoryLimit, python, extraArgs, env, nanny, ...base } = options;
    super(group, base);
    this.network = checkNetwork(network ?? 'tunnel');
    this.workerOptions = checkWorkerOptions({ nthreads, memoryLimit, python, extraArgs, env, nanny });
  }

  /**
   * Begins checking every runtime (which Python has Dask, and its addresses in `'direct'`
   * mode), so that launching workers later need not wait for it; `DaskCluster` calls it while
   * it connects to the hosts. A failure is reported when a worker is launched there.
   */
  prepare(): void {
    for (const runtime of this.runtimeGroup.runtimes) {
      hostFacts(runtime, this.#pythonFor(runtime.host)).catch(() => undefined);
      if (this.network === 'direct') hostFacts(runtime).catch(() => undefined);
    }
  }

  /**
   * Retires the `count` workers with the highest indexes through the scheduler (their data
   * moves to the others and they get no more tasks), then stops them.
   */
  override async removeWorkers(count: number): Promise<void> {
    const leaving = this.workers.sort((a, b) => b.index - a.index).slice(0, count);
    if (Number.isInteger(count) && count <= this.workers.length) await this.#retire(leaving, SCALE_DOWN_RETIRE_MS);
    await super.removeWorkers(count);
  }

  /** Retires every worker through the scheduler, then stops them all (see `WorkerLauncher.cleanup`). */
  override async cleanup(): Promise<void> {
    this.#cleaning ??= (async () => {
      try {
        await this.#retire(this.workers, CLEANUP_RETIRE_MS);
        await super.cleanup();
      } finally {
        this.#cleaning = undefined;
      }
    })();
    await this.#cleaning;
  }

  protected async launchWorker(context: WorkerLaunchContext): Promise<RemoteProcess> {
    const { runtime, index, port, masterPort, signal } = context;
    const [facts, localDirectory, addresses] = await Promise.all([
      hostFacts(runtime, this.#pythonFor(runtime.host)),
      runtime.workingDir(),
      this.#addresses(runtime, port, masterPort),
    ]);
    signal.throwIfAborted();
    const options = this.workerOptions;
    const command = workerCommand({
      python: requirePython(facts, 'worker'),
      schedulerAddress: addresses.scheduler,
      host: addresses.workerHost,
      port,
      name: workerName(runtime.host, index),
      localDirectory,
      nthreads: options.nthreads,
      memoryLimit: options.memoryLimit,
      nanny: options.nanny,
      extraArgs: options.extraArgs,
    });
    return await runtime.spawn(command, options.env === undefined ? {} : { env: options.env });
  }

  protected async waitUntilWorkerReady(context: WorkerReadyContext<RemoteProcess>): Promise<void> {
    const { runtime, index, port, masterPort, signal } = context;
    const { worker } = await this.#addresses(runtime, port, masterPort);
    await this.#watch(masterPort).waitFor(worker, workerName(runtime.host, index), signal);
  }

  protected override async exposeWorker(worker: WorkerInfo<RemoteProcess>): Promise<Tunnel | undefined> {
    return this.network === 'direct' ? undefined : await super.exposeWorker(worker);
  }

  protected override async onCleanup(): Promise<void> {
    const registrations = this.#registrations;
    this.#registrations = undefined;
    await registrations?.watch.close();
  }

  #pythonFor(host: string): string | undefined {
    const python = this.workerOptions.python;
    return typeof python === 'string' ? python : python?.[host];
  }

  /** The scheduler as the worker's host reaches it, and the worker's own address. */
  async #addresses(runtime: Runtime, port: number, masterPort: number): Promise<{ scheduler: string; workerHost: string; worker: string }> {
    if (this.network === 'tunnel') {
      return { scheduler: tcpAddress('127.0.0.1', masterPort), workerHost: '127.0.0.1', worker: tcpAddress('127.0.0.1', port) };
    }
    const manager = await directManagerAddress(this.runtimeGroup);
    const own = runtime.isLocal ? manager : (await hostFacts(runtime)).ownAddress;
    if (own === undefined) {
      throw new DaskConfigError(`network: 'direct' needs ${runtime.host}'s own address, but it did not report SSH_CONNECTION. Use network: 'tunnel'.`);
    }
    return { scheduler: tcpAddress(manager, masterPort), workerHost: own, worker: tcpAddress(own, port) };
  }

  #watch(masterPort: number): WorkerRegistrations {
    if (this.#registrations?.masterPort !== masterPort) {
      void this.#registrations?.watch.close();
      const watch = new WorkerRegistrations(async () => {
        const host = this.network === 'tunnel' ? '127.0.0.1' : await directManagerAddress(this.runtimeGroup);
        return await DaskClient.connect(tcpAddress(host, masterPort), { timeoutMs: CONNECT_TIMEOUT_MS });
      });
      this.#registrations = { masterPort, watch };
    }
    return this.#registrations.watch;
  }

  /** Asks the scheduler to retire `workers` without closing them (they are stopped next, retired or not). */
  async #retire(workers: readonly WorkerInfo[], timeoutMs: number): Promise<void> {
    const watch = this.#registrations?.watch;
    if (workers.length === 0 || watch === undefined) return;
    const names = workers.map((worker) => workerName(worker.host, worker.index));
    try {
      const client = await watch.client();
      await client.retireWorkers({ names, closeWorkers: false, remove: false, timeoutMs });
    } catch (error) {
      this.logger.warn?.(`could not retire ${names.join(', ')} through the scheduler, stopping them anyway: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
