/** The module `python -m` runs for a scheduler (what `dask-scheduler` runs). */
export const SCHEDULER_MODULE = 'distributed.cli.dask_scheduler';
/** The module `python -m` runs for a worker (what `dask-worker` runs). */
export const WORKER_MODULE = 'distributed.cli.dask_worker';

/** `host:port`, with an IPv6 host in brackets. */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A Dask TCP address, `tcp://host:port`. */
export function tcpAddress(host: string, port: number): string {
  return `tcp://${hostPort(host, port)}`;
}

/** The `--name` of worker `index` on `host`: unique while it runs, readable in the dashboard. */
export function workerName(host: string, index: number): string {
  return `${host}-${index}`;
}

export interface SchedulerCommand {
  readonly python: string;
  /** The address it listens on and advertises. */
  readonly host: string;
  readonly port: number;
  /** 0: any free port. */
  readonly dashboardPort: number;
  readonly extraArgs?: readonly string[] | undefined;
}

/** The scheduler's argument vector (run without a shell). */
export function schedulerCommand(options: SchedulerCommand): string[] {
  return [
    options.python,
    '-m',
    SCHEDULER_MODULE,
    '--host',
    options.host,
    '--port',
    String(options.port),
    '--dashboard-address',
    hostPort(options.host, options.dashboardPort),
    ...(options.extraArgs ?? []),
  ];
}

export interface WorkerCommand {
  readonly python: string;
  readonly schedulerAddress: string;
  /** The address it listens on, and gives the scheduler and the other workers. */
  readonly host: string;
  readonly port: number;
  readonly name: string;
  readonly localDirectory: string;
  readonly nthreads?: number | undefined;
  readonly memoryLimit?: number | string | undefined;
  readonly nanny?: boolean | undefined;
  readonly extraArgs?: readonly string[] | undefined;
}

/** A worker's argument vector (run without a shell). */
export function workerCommand(options: WorkerCommand): string[] {
  const address = tcpAddress(options.host, options.port);
  return [
    options.python,
    '-m',
    WORKER_MODULE,
    options.schedulerAddress,
    '--listen-address',
    address,
    '--contact-address',
    address,
    '--name',
    options.name,
    '--local-directory',
    options.localDirectory,
    options.nanny === true ? '--nanny' : '--no-nanny',
    // NOTE: a worker dashboard would not be tunnelled; and even without one the worker serves
    // HTTP (health, metrics), on every interface unless told where.
    '--no-dashboard',
    '--dashboard-address',
    hostPort(options.host, 0),
    ...(options.nthreads === undefined ? [] : ['--nthreads', String(options.nthreads)]),
    ...(options.memoryLimit === undefined ? [] : ['--memory-limit', String(options.memoryLimit)]),
    ...(options.extraArgs ?? []),
  ];
}
