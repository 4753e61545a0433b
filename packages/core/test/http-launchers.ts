// Launchers that run Python's http.server as master and workers: real processes on real
// runtimes, for the tests that need them (the exit fixture and the lab tests).
import { Runtime, type RemoteProcess } from '@lazycluster/runtime';
import {
  MasterLauncher,
  MasterWorkerCluster,
  WorkerLauncher,
  waitForOutputLine,
  waitForTcpPort,
  type MasterReadyOptions,
  type WorkerLaunchContext,
  type WorkerLauncherOptions,
  type WorkerReadyContext,
} from '../src/index.js';

const httpServer = (port: number): string[] => ['/usr/bin/python3', '-u', '-m', 'http.server', String(port), '--bind', '127.0.0.1'];

/** http.server on the manager, through a `localhost` runtime of its own. */
export class HttpServerMaster extends MasterLauncher {
  readonly #local = new Runtime('localhost');

  protected async launch(port: number): Promise<RemoteProcess> {
    return await this.#local.spawn(httpServer(port));
  }

  protected async waitUntilReady(port: number, { signal }: MasterReadyOptions<RemoteProcess>): Promise<void> {
    await waitForTcpPort(port, { signal });
  }

  protected override async onCleanup(): Promise<void> {
    await this.#local.cleanup();
  }
}

/**
 * http.server workers. On the hosts in `failOn` the worker exits with code 4, but only once
 * the workers on every other host listen, so a test sees a failure that must undo real work.
 */
export class HttpServerWorkers extends WorkerLauncher {
  /** Every process launched, in launch order. */
  readonly launched: RemoteProcess[] = [];
  readonly #failOn: ReadonlySet<string>;
  #listening = 0;
  readonly #onListening = new Set<() => void>();

  constructor(group: ConstructorParameters<typeof WorkerLauncher>[0], options: WorkerLauncherOptions & { failOn?: readonly string[] } = {}) {
    super(group, options);
    this.#failOn = new Set(options.failOn ?? []);
  }

  protected async launchWorker({ runtime, port, signal }: WorkerLaunchContext): Promise<RemoteProcess> {
    if (this.#failOn.has(runtime.host)) {
      await this.#othersListening(this.runtimeGroup.runtimeCount - this.#failOn.size, signal);
      const failing = await runtime.spawn(['/usr/bin/python3', '-c', 'import sys; sys.stderr.write("no worker here\\n"); sys.exit(4)']);
      this.launched.push(failing);
      return failing;
    }
    const worker = await runtime.spawn(httpServer(port));
    this.launched.push(worker);
    return worker;
  }

  protected async waitUntilWorkerReady({ process, port, signal }: WorkerReadyContext<RemoteProcess>): Promise<void> {
    await waitForOutputLine(process, `port ${port}`, { signal, stream: 'stdout' });
    this.#listening++;
    for (const wake of this.#onListening) wake();
  }

  async #othersListening(count: number, signal: AbortSignal): Promise<void> {
    while (this.#listening < count) {
      signal.throwIfAborted();
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          this.#onListening.delete(wake);
          signal.removeEventListener('abort', wake);
          resolve();
        };
        this.#onListening.add(wake);
        signal.addEventListener('abort', wake, { once: true });
      });
    }
  }
}

export class HttpServerCluster extends MasterWorkerCluster {}
