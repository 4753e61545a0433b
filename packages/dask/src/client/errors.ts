import { LazyclusterError } from '@lazycluster/ports';

/**
 * An operation on a Dask scheduler did not finish within its `timeoutMs`
 * (code `TIMEOUT`). The message names the operation, the scheduler address and what to check.
 */
export class TimeoutError extends LazyclusterError {
  /** The scheduler address the operation was talking to, e.g. `tcp://127.0.0.1:8786`. */
  readonly address: string;
  /** What timed out, e.g. `connect` or `waitForWorkers(3)`. */
  readonly operation: string;
  readonly timeoutMs: number;

  constructor(options: { address: string; operation: string; timeoutMs: number; detail?: string; hint: string }) {
    const detail = options.detail === undefined ? '' : ` (${options.detail})`;
    super(
      'TIMEOUT',
      `${options.operation} on the Dask scheduler at ${options.address} did not finish within ${options.timeoutMs} ms${detail}. ${options.hint}`,
    );
    this.address = options.address;
    this.operation = options.operation;
    this.timeoutMs = options.timeoutMs;
  }
}

/**
 * The scheduler could not be reached, refused the connection, or closed it (code `CONNECTION`).
 */
export class DaskConnectionError extends LazyclusterError {
  readonly address: string;

  constructor(address: string, message: string, options?: { cause?: unknown }) {
    super('CONNECTION', message, options);
    this.address = address;
  }
}

/**
 * The peer sent something the Dask protocol does not allow, or is not a Dask scheduler at all
 * (code `PROTOCOL`).
 */
export class DaskProtocolError extends LazyclusterError {
  /** The peer's address, when known. */
  readonly address: string | undefined;

  constructor(message: string, options?: { address?: string; cause?: unknown }) {
    super('PROTOCOL', message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.address = options?.address;
  }
}

/**
 * The scheduler ran the operation and it raised an exception there (code `COMMAND_FAILED`).
 * The Python exception is never unpickled: its text form travels instead.
 */
export class DaskSchedulerError extends LazyclusterError {
  readonly address: string;
  /** The scheduler handler that failed, e.g. `retire_workers`. */
  readonly op: string;
  /** `repr()` of the Python exception, e.g. `TypeError('names and workers are mutually exclusive')`. */
  readonly exceptionText: string;
  readonly tracebackText: string;

  constructor(options: { address: string; op: string; exceptionText: string; tracebackText: string }) {
    super(
      'COMMAND_FAILED',
      `The Dask scheduler at ${options.address} failed to run '${options.op}': ${options.exceptionText}. See the scheduler's log for the traceback.`,
    );
    this.address = options.address;
    this.op = options.op;
    this.exceptionText = options.exceptionText;
    this.tracebackText = options.tracebackText;
  }
}

/** An address or option given to the client is not usable (code `CONFIG`). */
export class DaskConfigError extends LazyclusterError {
  constructor(message: string) {
    super('CONFIG', message);
  }
}
