/**
 * How the manager, the scheduler and the workers reach each other:
 * - `'tunnel'`: everything listens on loopback and travels through the SSH connections; works
 *   through any firewall;
 * - `'direct'`: the scheduler and the workers listen on their hosts' own addresses and talk
 *   directly, with no tunnels; faster for data-heavy work, but every host must reach every other.
 */
export type DaskNetwork = 'tunnel' | 'direct';

/** How each Dask worker is started. */
export interface DaskWorkerOptions {
  /**
   * Threads per worker, a whole number >= 1.
   * @default Dask's own default: one per CPU core of the worker's host
   */
  readonly nthreads?: number | undefined;
  /**
   * Memory per worker, as Dask reads `--memory-limit`: a number of bytes, a fraction of the
   * host's memory (a number <= 1), `0` for no limit, a size such as `'4GB'` or `'512 MiB'`,
   * or `'auto'`.
   * @default Dask's own default (`'auto'`)
   */
  readonly memoryLimit?: number | string | undefined;
  /**
   * The Python interpreter that runs the worker: one for every host, or one per host (hosts
   * not listed use the default). It must be able to import `distributed`.
   * @default per host, the first of `python3` and `/usr/bin/python3` that can import `distributed`
   * @example { python: '/opt/conda/bin/python' }
   * @example { python: { h1: '/usr/bin/python3', h2: '/home/me/venv/bin/python' } }
   */
  readonly python?: string | Readonly<Record<string, string>> | undefined;
  /** More `dask-worker` arguments, appended last (so they win over the launcher's own). */
  readonly extraArgs?: readonly string[] | undefined;
  /** Environment variables of the worker processes, on top of the runtime's. */
  readonly env?: Readonly<Record<string, string>> | undefined;
  /**
   * Run each worker under a Dask nanny process. Off by default: a worker starts faster without
   * one, and a nanny's own port is not tunnelled, so the scheduler cannot ask it to restart the
   * worker in `'tunnel'` mode.
   * @default false
   */
  readonly nanny?: boolean | undefined;
}

/** How the Dask scheduler is started on the manager. */
export interface DaskSchedulerOptions {
  /**
   * The manager's Python interpreter that runs the scheduler; it must be able to import `distributed`.
   * @default the first of `python3` and `/usr/bin/python3` that can import `distributed`
   */
  readonly python?: string | undefined;
  /**
   * Port of the scheduler's dashboard on the manager (served only when `bokeh` is installed);
   * `0` lets the system choose a free one.
   * @default 0
   */
  readonly dashboardPort?: number | undefined;
  /** More `dask-scheduler` arguments, appended last. */
  readonly extraArgs?: readonly string[] | undefined;
  /** Environment variables of the scheduler process. */
  readonly env?: Readonly<Record<string, string>> | undefined;
}
