import { LazyclusterError } from '@lazycluster/ports';

/** One interpreter that was tried, and why it cannot run Dask. */
export interface PythonAttempt {
  /** The interpreter as tried, e.g. `python3`. */
  readonly python: string;
  /** What went wrong, e.g. `has no 'distributed' module`. */
  readonly problem: string;
}

/**
 * No Python interpreter on a host can import Dask's `distributed` package, so no scheduler or
 * worker can run there. Code `INVALID_RUNTIME`.
 */
export class DaskNotInstalledError extends LazyclusterError {
  /** The host (`'localhost'` is the manager). */
  readonly host: string;
  /** Every interpreter tried, in order. */
  readonly tried: readonly PythonAttempt[];

  constructor(options: { host: string; role: 'scheduler' | 'worker'; tried: readonly PythonAttempt[] }) {
    const tried = options.tried.map((attempt) => `${attempt.python} ${attempt.problem}`).join('; ');
    const option = options.role === 'worker' ? 'worker.python' : 'scheduler.python';
    super(
      'INVALID_RUNTIME',
      `Dask cannot run on ${options.host}: no Python there can import 'distributed' (${tried || 'nothing was tried'}).` +
        ` Install it on ${options.host} (Debian/Ubuntu: apt install python3-distributed; otherwise pip install distributed),` +
        ` or set ${option} to an interpreter that has it.`,
    );
    this.host = options.host;
    this.tried = options.tried.map((attempt) => ({ ...attempt }));
  }
}
