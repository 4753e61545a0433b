import { DaskConfigError } from '../../client/errors.js';
import type { DaskNetwork, DaskSchedulerOptions, DaskWorkerOptions } from '../options.js';

// What dask.utils.parse_bytes reads: a number, then an optional unit such as kB, MiB or G.
const MEMORY_SIZE = /^(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?\s*(?:[kmgtp]i?b?|b)?$/i;

/** Checks a `network` option. Throws `DaskConfigError`. */
export function checkNetwork(network: unknown): DaskNetwork {
  if (network === 'tunnel' || network === 'direct') return network;
  throw new DaskConfigError(`network must be 'tunnel' or 'direct', got ${describe(network)}.`);
}

/** Checks the worker options and returns a copy. Throws `DaskConfigError` naming the option. */
export function checkWorkerOptions(options: DaskWorkerOptions): DaskWorkerOptions {
  const { nthreads, memoryLimit, python, extraArgs, env, nanny } = options;
  if (nthreads !== undefined && (!Number.isInteger(nthreads) || nthreads < 1)) {
    throw new DaskConfigError(`worker.nthreads must be a whole number >= 1, got ${describe(nthreads)}.`);
  }
  if (memoryLimit !== undefined) checkMemoryLimit(memoryLimit);
  if (python !== undefined) {
    const entries = typeof python === 'string' ? [['', python] as const] : Object.entries(python as Record<string, unknown>);
    for (const [host, interpreter] of entries) {
      if (typeof interpreter !== 'string' || interpreter.trim() === '') {
        const name = host === '' ? 'worker.python' : `worker.python.${host}`;
        throw new DaskConfigError(`${name} must be the path or name of a Python interpreter, got ${describe(interpreter)}.`);
      }
    }
  }
  checkArgs(extraArgs, 'worker.extraArgs');
  checkEnv(env, 'worker.env');
  if (nanny !== undefined && typeof nanny !== 'boolean') throw new DaskConfigError(`worker.nanny must be true or false, got ${describe(nanny)}.`);
  return {
    nthreads,
    memoryLimit,
    python: typeof python === 'object' ? { ...python } : python,
    extraArgs: extraArgs === undefined ? undefined : [...extraArgs],
    env: env === undefined ? undefined : { ...env },
    nanny,
  };
}

/** Checks the scheduler options and returns a copy. Throws `DaskConfigError` naming the option. */
export function checkSchedulerOptions(options: DaskSchedulerOptions): DaskSchedulerOptions {
  const { python, dashboardPort, extraArgs, env } = options;
  if (python !== undefined && (typeof python !== 'string' || python.trim() === '')) {
    throw new DaskConfigError(`scheduler.python must be the path or name of a Python interpreter, got ${describe(python)}.`);
  }
  if (dashboardPort !== undefined && (!Number.isInteger(dashboardPort) || dashboardPort < 0 || dashboardPort > 65_535)) {
    throw new DaskConfigError(`scheduler.dashboardPort must be a port number (0 for any free port), got ${describe(dashboardPort)}.`);
  }
  checkArgs(extraArgs, 'scheduler.extraArgs');
  checkEnv(env, 'scheduler.env');
  return { python, dashboardPort, extraArgs: extraArgs === undefined ? undefined : [...extraArgs], env: env === undefined ? undefined : { ...env } };
}

function checkMemoryLimit(value: unknown): void {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return;
  if (typeof value === 'string' && (value.trim() === 'auto' || MEMORY_SIZE.test(value.trim()))) return;
  throw new DaskConfigError(
    `worker.memoryLimit must be bytes (e.g. 4e9), a fraction of the host's memory (e.g. 0.5), 0 for no limit, a size such as '4GB' or '512 MiB', or 'auto'; got ${describe(value)}.`,
  );
}

function checkArgs(args: unknown, name: string): void {
  if (args === undefined) return;
  if (!Array.isArray(args) || !args.every((arg) => typeof arg === 'string')) {
    throw new DaskConfigError(`${name} must be an array of strings, got ${describe(args)}.`);
  }
}

function checkEnv(env: unknown, name: string): void {
  if (env === undefined) return;
  if (typeof env !== 'object' || env === null || !Object.values(env).every((value) => typeof value === 'string')) {
    throw new DaskConfigError(`${name} must map variable names to strings, got ${describe(env)}.`);
  }
}

function describe(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : JSON.stringify(value) ?? String(value);
}
