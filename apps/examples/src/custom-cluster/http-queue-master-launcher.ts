import { MasterLauncher, waitForOutputLine, type MasterLauncherOptions, type MasterLaunchOptions, type MasterReadyOptions } from '@lazycluster/core';
import { Runtime, type RemoteProcess, type RuntimeGroup } from '@lazycluster/runtime';
import { scriptPath } from './scripts.js';

/** A JSON value a work item can be. */
export type WorkItem = number | string;

/** What the queue master computes the items with (the worker script knows these). */
export type QueueTask = 'square' | 'wordcount';

/** Options of {@link HttpQueueMasterLauncher}. */
export interface HttpQueueMasterLauncherOptions extends Omit<MasterLauncherOptions, 'host'> {
  readonly task: QueueTask;
  readonly items: readonly WorkItem[];
  /** The manager's Python. @default '/usr/bin/python3' */
  readonly python?: string | undefined;
}

/**
 * Runs the job-queue master (`queue_master.py`, standard library only) on the manager,
 * through the manager's own `localhost` runtime, so it is stopped like any runtime process.
 * The queue starts closed: {@link HttpQueueCluster} opens it once every worker is up.
 */
export class HttpQueueMasterLauncher extends MasterLauncher {
  readonly #task: QueueTask;
  readonly #items: readonly WorkItem[];
  readonly #python: string;
  readonly #logger: MasterLauncherOptions['logger'];
  #local: Runtime | undefined;

  constructor(group: RuntimeGroup, options: HttpQueueMasterLauncherOptions) {
    super(group, options);
    this.#task = options.task;
    this.#items = [...options.items];
    this.#python = options.python ?? '/usr/bin/python3';
    this.#logger = options.logger;
  }

  protected async launch(port: number, _options: MasterLaunchOptions): Promise<RemoteProcess> {
    this.#local ??= new Runtime('localhost', this.#logger === undefined ? {} : { logger: this.#logger });
    const master = await this.#local.spawn([this.#python, scriptPath('queue_master.py'), '--port', String(port)], { stdin: true });
    // The items go through stdin: no temporary file, no command line length limit.
    master.write(JSON.stringify({ task: this.#task, items: this.#items }));
    master.endInput();
    return master;
  }

  protected async waitUntilReady(port: number, { process, signal }: MasterReadyOptions<RemoteProcess>): Promise<void> {
    await waitForOutputLine(process, `queue master listening on 127.0.0.1:${port}`, { signal, stream: 'stdout' });
  }

  protected override async onCleanup(): Promise<void> {
    const local = this.#local;
    this.#local = undefined;
    await local?.cleanup();
  }
}
