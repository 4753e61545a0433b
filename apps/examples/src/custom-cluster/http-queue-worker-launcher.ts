import { WorkerLauncher, waitForOutputLine, type WorkerInfo, type WorkerLaunchContext, type WorkerLauncherOptions, type WorkerReadyContext } from '@lazycluster/core';
import type { ProcessOutcome, RemoteProcess, Runtime, RuntimeGroup } from '@lazycluster/runtime';
import { scriptPath } from './scripts.js';

/** Options of {@link HttpQueueWorkerLauncher}. */
export interface HttpQueueWorkerLauncherOptions extends WorkerLauncherOptions {
  /** Python on the runtimes (the worker needs only the standard library). @default '/usr/bin/python3' */
  readonly python?: string | undefined;
}

/**
 * Sends `queue_worker.py` to each runtime once, and runs workers there that pull items
 * from the master (tunnelled to the runtime's 127.0.0.1), report their host with each
 * result, and exit when the queue is empty.
 */
export class HttpQueueWorkerLauncher extends WorkerLauncher {
  readonly #python: string;
  readonly #scripts = new Map<string, Promise<string>>();

  constructor(group: RuntimeGroup, options: HttpQueueWorkerLauncherOptions = {}) {
    super(group, options);
    this.#python = options.python ?? '/usr/bin/python3';
  }

  protected async launchWorker({ runtime, index, port, masterPort }: WorkerLaunchContext): Promise<RemoteProcess> {
    const script = await this.#scriptOn(runtime);
    return await runtime.spawn([
      this.#python,
      script,
      '--master-port',
      String(masterPort),
      '--port',
      String(port),
      '--worker-id',
      `${runtime.host}-${index}`,
      '--runtime',
      runtime.host,
    ]);
  }

  protected async waitUntilWorkerReady({ process, port, signal }: WorkerReadyContext<RemoteProcess>): Promise<void> {
    await waitForOutputLine(process, `ready on port ${port}`, { signal, stream: 'stdout' });
  }

  /** A worker is done, not lost, when it exits with code 0: the queue was empty. */
  protected override isExpectedExit(_worker: WorkerInfo<RemoteProcess>, outcome: ProcessOutcome): boolean {
    return outcome.exitCode === 0;
  }

  protected override async onCleanup(): Promise<void> {
    this.#scripts.clear();
    await super.onCleanup();
  }

  /** Copies the worker script into the runtime's working directory, once per runtime. */
  async #scriptOn(runtime: Runtime): Promise<string> {
    let sent = this.#scripts.get(runtime.host);
    if (sent === undefined) {
      sent = runtime.sendFile(scriptPath('queue_worker.py'), 'queue_worker.py');
      this.#scripts.set(runtime.host, sent);
      sent.catch(() => this.#scripts.delete(runtime.host));
    }
    return await sent;
  }
}
