import { MasterWorkerCluster, type MasterWorkerClusterOptions } from '@lazycluster/core';
import { LazyclusterError, type RuntimeGroup } from '@lazycluster/runtime';
import { HttpQueueMasterLauncher, type QueueTask, type WorkItem } from './http-queue-master-launcher.js';
import { HttpQueueWorkerLauncher } from './http-queue-worker-launcher.js';

/** One computed item, as the worker reported it. */
export interface QueueResult {
  readonly id: number;
  readonly item: WorkItem;
  readonly result: number;
  /** `<runtime>-<index>`. */
  readonly worker: string;
  /** The runtime's host name as the manager knows it (`h1`, `localhost`...). */
  readonly runtime: string;
  /** What the worker's machine calls itself. */
  readonly hostname: string;
  /** The worker's network namespace (`net:[inode]`), or null where /proc does not tell. */
  readonly netns: string | null;
}

/** The state of the queue. */
export interface QueueResults {
  readonly task: QueueTask;
  readonly total: number;
  /** True once every item has a result. */
  readonly done: boolean;
  readonly results: readonly QueueResult[];
}

/** What a worker's own status endpoint (on its port) answers. */
export interface QueueWorkerStatus {
  readonly worker: string;
  readonly runtime: string;
  readonly hostname: string;
  readonly netns: string | null;
  readonly processed: number;
}

/** Options of {@link HttpQueueCluster}. */
export interface HttpQueueClusterOptions extends Omit<MasterWorkerClusterOptions, 'masterLauncher' | 'workerLauncher'> {
  readonly task: QueueTask;
  readonly items: readonly WorkItem[];
  /** Python for the master, on the manager. @default '/usr/bin/python3' */
  readonly python?: string | undefined;
  /** Python for the workers, on the runtimes. @default '/usr/bin/python3' */
  readonly workerPython?: string | undefined;
}

/**
 * A master/worker cluster that is not Dask: an HTTP job queue on the manager hands out work
 * items, and workers on every runtime pull them, compute, and report back. Built on
 * `@lazycluster/core` and `@lazycluster/runtime` alone.
 *
 * @example
 * await using cluster = new HttpQueueCluster(group, { task: 'square', items: [1, 2, 3] });
 * await cluster.start();
 * const { results } = await cluster.run();
 */
export class HttpQueueCluster extends MasterWorkerCluster {
  static override DEFAULT_MASTER_PORT = 47_000;
  static override DEFAULT_PORT_RANGE_START = 47_001;
  static override DEFAULT_PORT_RANGE_END = 47_200;

  constructor(group: RuntimeGroup, options: HttpQueueClusterOptions) {
    const { task, items, python, workerPython, ...clusterOptions } = options;
    super(group, {
      ...clusterOptions,
      masterLauncher: new HttpQueueMasterLauncher(group, { task, items, python, logger: options.logger }),
      workerLauncher: new HttpQueueWorkerLauncher(group, { python: workerPython, logger: options.logger }),
    });
  }

  /**
   * Opens the queue to the workers (they have been waiting for it since they started) and
   * resolves once every item has a result.
   *
   * @throws LazyclusterError with code `TIMEOUT` when the results are not all in by `timeoutMs`.
   */
  async run(options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<QueueResults> {
    const { timeoutMs = 120_000, signal } = options;
    await this.#master('POST', '/open', signal);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = deadline - Date.now();
      // The master holds each request until everything is in or `wait` seconds pass.
      const state = await this.#master<QueueResults>('GET', `/results?wait=${Math.max(0, Math.min(left, 10_000)) / 1000}`, signal);
      if (state.done) return state;
      if (Date.now() >= deadline) {
        throw new LazyclusterError(
          'TIMEOUT',
          `The queue got ${state.results.length} of ${state.total} results within ${timeoutMs} ms. Check the worker-exited events for workers that failed, or raise timeoutMs.`,
        );
      }
    }
  }

  /** The results so far, without waiting. */
  async results(signal?: AbortSignal): Promise<QueueResults> {
    return await this.#master<QueueResults>('GET', '/results?wait=0', signal);
  }

  /** Asks one running worker for its status, through the tunnel to its port on the manager. */
  async workerStatus(index: number, signal?: AbortSignal): Promise<QueueWorkerStatus> {
    const worker = this.workerLauncher.workers.find((w) => w.index === index);
    if (worker === undefined) throw new RangeError(`No worker ${index} is running.`);
    return await getJson<QueueWorkerStatus>('GET', `http://127.0.0.1:${worker.port}/`, signal);
  }

  async #master<T>(method: 'GET' | 'POST', path: string, signal: AbortSignal | undefined): Promise<T> {
    const port = this.masterPort;
    if (port === undefined) throw new Error('Start the cluster first.');
    return await getJson<T>(method, `http://127.0.0.1:${port}${path}`, signal);
  }
}

async function getJson<T>(method: 'GET' | 'POST', url: string, signal: AbortSignal | undefined): Promise<T> {
  const response = await fetch(url, { method, ...(signal === undefined ? {} : { signal }) });
  if (!response.ok) throw new Error(`${method} ${url} answered ${response.status} ${response.statusText}`);
  return (await response.json()) as T;
}
