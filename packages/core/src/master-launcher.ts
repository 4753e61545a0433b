import {
  MANAGER_HOST,
  defaultPortLeases,
  isLazyclusterError,
  negotiatePort,
  requirePort,
  type PortLease,
  type PortLeases,
} from '@lazycluster/ports';
import type { Logger, RemoteProcess, RuntimeGroup, Tunnel } from '@lazycluster/runtime';
import type { ClusterProcess } from './cluster-process.js';
import { MasterStartError } from './errors.js';
import type { MasterLauncherEvents } from './events.js';
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

/** Options of a {@link MasterLauncher}. */
export interface MasterLauncherOptions extends LauncherOptions {
  /**
   * Where the master runs: the manager, or the host of one runtime of the group.
   * @default 'localhost' (the manager)
   */
  readonly host?: string | undefined;
}

/** Options of {@link MasterLauncher.start}. */
export type MasterStartOptions = LauncherStartOptions;

/** What {@link MasterLauncher.launch} receives besides the port. */
export interface MasterLaunchOptions {
  readonly debug: boolean;
  /** Aborted at the deadline, on cancellation and on cleanup. */
  readonly signal: AbortSignal;
}

/** What {@link MasterLauncher.waitUntilReady} receives besides the port. */
export interface MasterReadyOptions<P extends ClusterProcess> {
  /** Aborted when the start is over (timed out, cancelled, or the process ended): stop waiting then. */
  readonly signal: AbortSignal;
  /** The process `launch` returned. */
  readonly process: P;
}

interface MasterRun<P extends ClusterProcess> {
  readonly port: number;
  readonly lease: PortLease;
  process: P | undefined;
  output: CapturedOutput | undefined;
  tunnel: Tunnel | undefined;
  stopping: boolean;
}

/**
 * Starts the master of a master/worker cluster. The base class chooses the port (free on
 * every runtime of the group and on the manager, since the master port is tunnelled
 * everywhere), enforces the deadline, reports an early exit with the master's stderr, makes
 * the port reachable and cleans up. A subclass says how to launch the master and how to
 * tell that it is ready.
 *
 * @typeParam P - the process type `launch` returns.
 * @example
 * class EchoMaster extends MasterLauncher {
 *   #local = new Runtime('localhost');
 *   protected async launch(port: number) {
 *     return await this.#local.spawn(['/usr/bin/python3', '-m', 'http.server', String(port), '--bind', '127.0.0.1']);
 *   }
 *   protected async waitUntilReady(port: number, { signal }: MasterReadyOptions<RemoteProcess>) {
 *     await waitForTcpPort(port, { signal });
 *   }
 *   protected override async onCleanup() {
 *     await this.#local.cleanup();
 *   }
 * }
 */
export abstract class MasterLauncher<P extends ClusterProcess = RemoteProcess> {
  /** The group whose runtimes must reach the master. */
  readonly runtimeGroup: RuntimeGroup;
  /** Where the master runs (`'localhost'` is the manager). */
  readonly host: string;
  protected readonly logger: Logger;
  readonly #leases: PortLeases;
  readonly #stopGraceMs: number;
  readonly #output: NodeJS.WritableStream | undefined;
  readonly #events: TypedEmitter<MasterLauncherEvents>;
  #run: MasterRun<P> | undefined;
  #abort = new AbortController();
  #starting: Promise<unknown> | undefined;
  #cleaning: Promise<void> | undefined;

  constructor(group: RuntimeGroup, options: MasterLauncherOptions = {}) {
    this.runtimeGroup = group;
    this.host = options.host ?? MANAGER_HOST;
    this.logger = options.logger ?? SILENT_LOGGER;
    this.#leases = options.leases ?? defaultPortLeases;
    this.#stopGraceMs = options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
    this.#output = options.output;
    this.#events = new TypedEmitter({
      onListenerError: (error, event) => this.logger.warn?.(`a listener of ${event} threw: ${reasonOf(error)}`),
    });
  }

  /** The master port, once chosen; `undefined` before `start` and after `cleanup`. */
  get port(): number | undefined {
    return this.#run?.port;
  }

  /** The master process, once launched; `undefined` before `start` and after `cleanup`. */
  get process(): P | undefined {
    return this.#run?.process;
  }

  /** True while the master is running. */
  get running(): boolean {
    return this.#run?.process?.running === true && !this.#run.stopping;
  }

  /** The last lines the master wrote to stderr. */
  get stderrTail(): string {
    return this.#run?.output?.stderr.text() ?? '';
  }

  /** Subscribes to `master-started` / `master-exited`. */
  on<K extends keyof MasterLauncherEvents>(event: K, listener: EventListener<MasterLauncherEvents[K]>): Unsubscribe {
    return this.#events.on(event, listener);
  }

  /**
   * Chooses the master port, launches the master and waits until it is ready, then makes it
   * reachable from every runtime.
   *
   * @param ports - one port (that port or nothing), or candidates in order of preference.
   * @returns the candidates after the chosen one (empty when a single port was given).
   * @throws PortInUseError when a single port is taken on some host or the manager.
   * @throws NoPortsLeftError when no candidate is free everywhere.
   * @throws MasterStartError when the master exits early, fails to launch or is not ready in time.
   */
  async start(ports: number | readonly number[], options: MasterStartOptions = {}): Promise<number[]> {
    if (this.#run !== undefined || this.#starting !== undefined) {
      throw new Error(`The master launcher has already started a master on ${this.host} (port ${this.port ?? '?'}); call cleanup() before starting another.`);
    }
    const starting = this.#start(ports, options);
    this.#starting = starting;
    try {
      return await starting;
    } finally {
      this.#starting = undefined;
    }
  }

  /**
   * Stops the master (SIGTERM, then SIGKILL after `stopGraceMs`), closes its tunnels and
   * releases its port; an in-flight `start` is cancelled. Idempotent and safe to call
   * concurrently; the launcher can be started again afterwards.
   */
  async cleanup(): Promise<void> {
    this.#cleaning ??= (async () => {
      try {
        this.#abort.abort(new Error('the master launcher is being cleaned up'));
        await this.#starting?.catch(() => undefined);
        this.#abort = new AbortController();
        const errors: unknown[] = [];
        await this.#teardown(errors);
        try {
          await this.onCleanup();
        } catch (error) {
          errors.push(error);
        }
        throwAll(errors, `cleaning up the master on ${this.host}`);
      } finally {
        this.#cleaning = undefined;
      }
    })();
    await this.#cleaning;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.cleanup();
  }

  /** Sends SIGKILL to the master now, without waiting; for a process that is about to exit. */
  killNow(): void {
    const process = this.#run?.process;
    if (process?.running === true) process.kill('SIGKILL');
  }

  /**
   * Starts the master process listening on `port`. Return as soon as it is started; the base
   * class then waits for {@link waitUntilReady}, races it against the process ending and the
   * deadline, and stops the process if it does not come up.
   */
  protected abstract launch(port: number, options: MasterLaunchOptions): Promise<P>;

  /**
   * Resolves once the master serves on `port`. Observe (a line of output, a connection);
   * never sleep a fixed time. Stop waiting when `options.signal` aborts.
   */
  protected abstract waitUntilReady(port: number, options: MasterReadyOptions<P>): Promise<void>;

  /**
   * Makes the master port reachable where the workers run, after the master is ready. By
   * default: a master on the manager is exposed on every runtime's 127.0.0.1:port, and a
   * master on a runtime is exposed on the manager and every other runtime. Override to
   * return `undefined` when runtimes reach the master directly.
   */
  protected async exposeMaster(port: number): Promise<Tunnel | undefined> {
    if (this.host === MANAGER_HOST) return await this.runtimeGroup.exposePortToRuntimes(port);
    return await this.runtimeGroup.exposePortFromRuntimeToGroup(this.host, port);
  }

  /**
   * Releases what the subclass holds (a runtime it created, files...). Called by `cleanup()`
   * and after a failed start, once the master is stopped and its tunnels are closed.
   */
  protected async onCleanup(): Promise<void> {
    // Nothing by default.
  }

  async #start(ports: number | readonly number[], options: MasterStartOptions): Promise<number[]> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    const debug = options.debug ?? false;
    const signal = anySignal([options.signal, this.#abort.signal]);
    signal.throwIfAborted();
    let chosen: { port: number; remaining: number[]; lease: PortLease };
    try {
      chosen = await this.#choosePort(ports, signal);
    } catch (error) {
      // Nothing was launched, but a subclass may hold resources of its own (a runtime).
      await this.onCleanup().catch((e: unknown) => this.logger.warn?.(`while undoing the master start on ${this.host}: ${reasonOf(e)}`));
      throw error;
    }
    const { port, remaining, lease } = chosen;
    const run: MasterRun<P> = { port, lease, process: undefined, output: undefined, tunnel: undefined, stopping: false };
    this.#run = run;
    try {
      this.logger.debug?.(`starting the master on ${this.host} port ${port}`);
      const attempt = await attemptStart<P>({
        launch: async (launchSignal) => await this.launch(port, { debug, signal: launchSignal }),
        waitUntilReady: async (process, readySignal) => await this.waitUntilReady(port, { signal: readySignal, process }),
        timeoutMs,
        signal,
        echo: debug ? { out: this.#output ?? globalThis.process.stdout, prefix: `[${this.host} master] ` } : undefined,
      });
      run.process = attempt.process;
      run.output = attempt.output;
      if (attempt.kind !== 'ready') {
        const stderrTail = attempt.output?.stderr.text() ?? '';
        switch (attempt.kind) {
          case 'aborted':
            throw attempt.reason;
          case 'timeout':
            throw new MasterStartError({ host: this.host, port, reason: 'timeout', timeoutMs, stderrTail });
          case 'exited':
            throw new MasterStartError({ host: this.host, port, reason: 'exited', exitCode: attempt.outcome.exitCode, signal: attempt.outcome.signal, stderrTail });
          case 'failed':
            if (isLazyclusterError(attempt.error)) throw attempt.error;
            throw new MasterStartError({ host: this.host, port, reason: 'failed', stderrTail, cause: attempt.error });
        }
      }
      run.tunnel = await this.exposeMaster(port);
      signal.throwIfAborted();
      this.#watch(run, attempt.process);
      this.logger.info?.(`master ready on ${this.host} port ${port} (pid ${attempt.process.pid})`);
      this.#events.emit('master-started', { host: this.host, port, pid: attempt.process.pid });
      return remaining;
    } catch (error) {
      const errors: unknown[] = [];
      await this.#teardown(errors);
      await this.onCleanup().catch((e: unknown) => errors.push(e));
      for (const e of errors) this.logger.warn?.(`while undoing the master start on ${this.host}: ${reasonOf(e)}`);
      throw error;
    }
  }

  async #choosePort(ports: number | readonly number[], signal: AbortSignal): Promise<{ port: number; remaining: number[]; lease: PortLease }> {
    const probes = this.runtimeGroup.portProbes({ includeManager: true });
    const common = { probes, leases: this.#leases, owner: `master on ${this.host}`, signal };
    if (typeof ports === 'number') {
      const lease = await requirePort({ ...common, port: ports });
      return { port: ports, remaining: [], lease };
    }
    return await negotiatePort({ ...common, candidates: ports });
  }

  #watch(run: MasterRun<P>, process: P): void {
    process.outcome.then(
      (outcome) => {
        if (!run.stopping) this.logger.warn?.(`the master on ${this.host} port ${run.port} exited on its own (exit code ${outcome.exitCode}, signal ${outcome.signal})`);
        this.#events.emit('master-exited', { host: this.host, port: run.port, exitCode: outcome.exitCode, signal: outcome.signal, expected: run.stopping });
      },
      (error: unknown) => {
        this.logger.warn?.(`lost the master on ${this.host}: ${reasonOf(error)}`);
        this.#events.emit('master-exited', { host: this.host, port: run.port, exitCode: null, signal: null, expected: run.stopping });
      },
    );
  }

  /** Stops the process, then closes the tunnel, then releases the port; collects failures. */
  async #teardown(errors: unknown[]): Promise<void> {
    const run = this.#run;
    if (run === undefined) return;
    run.stopping = true;
    try {
      if (run.process !== undefined) await run.process.stop({ graceMs: this.#stopGraceMs });
    } catch (error) {
      errors.push(error);
    }
    try {
      await run.tunnel?.close();
    } catch (error) {
      errors.push(error);
    }
    run.lease.release();
    if (this.#run === run) this.#run = undefined;
  }
}
