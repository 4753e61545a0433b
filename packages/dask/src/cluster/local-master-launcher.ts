import {
  MasterLauncher,
  type MasterLauncherOptions,
  type MasterLaunchOptions,
  type MasterReadyOptions,
  type MasterStartOptions,
} from '@lazycluster/core';
import { LOCALHOST, Runtime, type RemoteProcess, type RuntimeGroup, type Tunnel } from '@lazycluster/runtime';
import { DaskClient } from '../client/dask-client.js';
import { sleep } from '../client/deadline.js';
import { DaskConnectionError, TimeoutError } from '../client/errors.js';
import type { DaskSchedulerIdentity } from '../client/types.js';
import { hostPort, schedulerCommand, tcpAddress } from './internal/commands.js';
import { directManagerAddress, hostFacts, requirePython } from './internal/host-facts.js';
import { checkNetwork, checkSchedulerOptions } from './internal/validate.js';
import type { DaskNetwork, DaskSchedulerOptions } from './options.js';

/** Options of a {@link LocalMasterLauncher}. */
export interface LocalMasterLauncherOptions extends Omit<MasterLauncherOptions, 'host'>, DaskSchedulerOptions {
  /** @default 'tunnel' */
  readonly network?: DaskNetwork | undefined;
}

const CONNECT_ATTEMPT_MS = 5_000;
const FIRST_RETRY_MS = 10;
const MAX_RETRY_MS = 200;

/**
 * Starts the Dask scheduler on the manager. In `'tunnel'` mode it listens on 127.0.0.1 and its
 * port is then exposed on every runtime's 127.0.0.1; in `'direct'` mode it listens on the
 * manager's address as the runtimes see it. Ready means a client connected and the scheduler
 * answered `identity`.
 *
 * @example
 * const master = new LocalMasterLauncher(group);
 * await master.start(8786);
 * console.log(master.schedulerAddress); // tcp://127.0.0.1:8786
 */
export class LocalMasterLauncher extends MasterLauncher {
  readonly network: DaskNetwork;
  readonly #options: DaskSchedulerOptions;
  #local: Runtime | undefined;
  #listenHost: string | undefined;
  #identity: DaskSchedulerIdentity | undefined;

  constructor(group: RuntimeGroup, options: LocalMasterLauncherOptions = {}) {
    const { network, python, dashboardPort, extraArgs, env, ...base } = options;
    super(group, { ...base, host: LOCALHOST });
    this.network = checkNetwork(network ?? 'tunnel');
    this.#options = checkSchedulerOptions({ python, dashboardPort, extraArgs, env });
  }

  /** Where the manager reaches the scheduler (`tcp://127.0.0.1:<port>` in `'tunnel'` mode); `undefined` until it listens. */
  get schedulerAddress(): string | undefined {
    const port = this.port;
    return port === undefined || this.#listenHost === undefined ? undefined : tcpAddress(this.#listenHost, port);
  }

  /** The scheduler's dashboard, once it is ready; `undefined` when it serves none (no `bokeh`). */
  get dashboardLink(): string | undefined {
    const port = this.#identity?.services.dashboard;
    return port === undefined || this.#listenHost === undefined ? undefined : `http://${hostPort(this.#listenHost, port)}/status`;
  }

  /**
   * Begins the checks a launch needs that do not depend on the port: which Python on the
   * manager has Dask, and in `'direct'` mode the manager's address as the hosts see it. `start`
   * does it too; `DaskCluster` calls it while it connects to the hosts, so `start` waits less.
   */
  prepare(): void {
    const local = (this.#local ??= new Runtime(LOCALHOST, { logger: this.logger }));
    hostFacts(local, this.#options.python).catch(() => undefined);
    if (this.network === 'direct') directManagerAddress(this.runtimeGroup).catch(() => undefined);
  }

  /** As `MasterLauncher.start`; the checks of {@link prepare} run while the port is chosen. */
  override async start(ports: number | readonly number[], options: MasterStartOptions = {}): Promise<number[]> {
    const fresh = this.#local === undefined;
    this.prepare();
    const local = this.#local;
    try {
      return await super.start(ports, options);
    } catch (error) {
      // NOTE: a start that fails while choosing the port never reaches onCleanup.
      if (fresh && this.port === undefined && this.#local === local) {
        this.#local = undefined;
        await local?.cleanup();
      }
      throw error;
    }
  }

  protected async launch(port: number, { signal }: MasterLaunchOptions): Promise<RemoteProcess> {
    const local = (this.#local ??= new Runtime(LOCALHOST, { logger: this.logger }));
    const [facts, listenHost] = await Promise.all([
      hostFacts(local, this.#options.python),
      this.network === 'direct' ? directManagerAddress(this.runtimeGroup) : Promise.resolve('127.0.0.1'),
    ]);
    signal.throwIfAborted();
    this.#listenHost = listenHost;
    const command = schedulerCommand({
      python: requirePython(facts, 'scheduler'),
      host: listenHost,
      port,
      dashboardPort: this.#options.dashboardPort ?? 0,
      extraArgs: this.#options.extraArgs,
    });
    return await local.spawn(command, this.#options.env === undefined ? {} : { env: this.#options.env });
  }

  protected async waitUntilReady(port: number, { signal }: MasterReadyOptions<RemoteProcess>): Promise<void> {
    const address = tcpAddress(this.#listenHost ?? '127.0.0.1', port);
    for (let pause = FIRST_RETRY_MS; ; pause = Math.min(pause * 2, MAX_RETRY_MS)) {
      try {
        const client = await DaskClient.connect(address, { timeoutMs: CONNECT_ATTEMPT_MS, signal });
        try {
          this.#identity = await client.identity({ signal });
        } finally {
          await client.close();
        }
        return;
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        // Refused: it does not listen yet. Timed out: it listens but is still busy starting.
        if (!(error instanceof DaskConnectionError || error instanceof TimeoutError)) throw error;
      }
      await sleep(pause, signal);
    }
  }

  protected override async exposeMaster(port: number): Promise<Tunnel | undefined> {
    return this.network === 'direct' ? undefined : await super.exposeMaster(port);
  }

  protected override async onCleanup(): Promise<void> {
    const local = this.#local;
    this.#local = undefined;
    this.#listenHost = undefined;
    this.#identity = undefined;
    await local?.cleanup();
  }
}
