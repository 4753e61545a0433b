import { LazyclusterError } from '@lazycluster/ports';

/**
 * Why a master or worker did not come up:
 * - `timeout`: it was not ready within `timeoutMs`;
 * - `exited`: its process ended before it was ready;
 * - `failed`: launching it, or checking it, threw.
 */
export type StartFailureReason = 'timeout' | 'exited' | 'failed';

/** Fields of {@link MasterStartError}. */
export interface MasterStartErrorOptions {
  readonly host: string;
  readonly port: number;
  readonly reason: StartFailureReason;
  /** The last lines the master wrote to stderr ('' when none). */
  readonly stderrTail: string;
  /** Set when `reason` is `'exited'`. */
  readonly exitCode?: number | null | undefined;
  readonly signal?: string | null | undefined;
  /** Set when `reason` is `'timeout'`. */
  readonly timeoutMs?: number | undefined;
  readonly cause?: unknown;
}

/** Fields of {@link WorkerStartError}. */
export interface WorkerStartErrorOptions extends Omit<MasterStartErrorOptions, 'stderrTail'> {
  /** The worker's index in its launcher. */
  readonly index: number;
  /** The last lines the worker wrote to stderr ('' when none). */
  readonly stderrTail: string;
}

/** A cluster master did not come up. Code `MASTER_START`. */
export class MasterStartError extends LazyclusterError {
  readonly host: string;
  readonly port: number;
  readonly reason: StartFailureReason;
  readonly stderrTail: string;
  readonly exitCode: number | null | undefined;
  readonly signal: string | null | undefined;
  readonly timeoutMs: number | undefined;
  /** What to do about it, in one sentence (also the end of the message). */
  readonly fix: string;

  constructor(options: MasterStartErrorOptions) {
    const { what, fix } = describeStartFailure('master', options);
    super('MASTER_START', `${what}${tailText(options.stderrTail)} ${fix}`, causeOf(options.cause));
    this.host = options.host;
    this.port = options.port;
    this.reason = options.reason;
    this.stderrTail = options.stderrTail;
    this.exitCode = options.exitCode;
    this.signal = options.signal;
    this.timeoutMs = options.timeoutMs;
    this.fix = fix;
  }
}

/** A cluster worker did not come up. Code `WORKER_START`. */
export class WorkerStartError extends LazyclusterError {
  readonly host: string;
  readonly port: number;
  readonly index: number;
  readonly reason: StartFailureReason;
  readonly stderrTail: string;
  readonly exitCode: number | null | undefined;
  readonly signal: string | null | undefined;
  readonly timeoutMs: number | undefined;
  /** What to do about it, in one sentence (also the end of the message). */
  readonly fix: string;

  constructor(options: WorkerStartErrorOptions) {
    const { what, fix } = describeStartFailure(`worker ${options.index}`, options);
    super('WORKER_START', `${what}${tailText(options.stderrTail)} ${fix}`, causeOf(options.cause));
    this.host = options.host;
    this.port = options.port;
    this.index = options.index;
    this.reason = options.reason;
    this.stderrTail = options.stderrTail;
    this.exitCode = options.exitCode;
    this.signal = options.signal;
    this.timeoutMs = options.timeoutMs;
    this.fix = fix;
  }
}

/** Fields of {@link NoReachableHostsError}. */
export interface NoReachableHostsErrorOptions {
  /** Every host that was tried, with why it could not be used. */
  readonly failures: readonly { readonly host: string; readonly reason: string }[];
  readonly cause?: unknown;
}

/**
 * Under the `'skip'` host failure policy, not one host of the group could be reached.
 * Code `NO_RUNTIMES_DETECTED`.
 */
export class NoReachableHostsError extends LazyclusterError {
  readonly failures: { host: string; reason: string }[];

  constructor(options: NoReachableHostsErrorOptions) {
    const list = options.failures.map((f) => `${f.host}: ${f.reason}`).join('; ');
    super(
      'NO_RUNTIMES_DETECTED',
      `No host of the runtime group could be reached, so the cluster cannot start (${list || 'the group is empty'}).` +
        ' Fix the connection problems above, or add reachable hosts to the group.',
      causeOf(options.cause),
    );
    this.failures = options.failures.map((f) => ({ host: f.host, reason: f.reason }));
  }
}

function describeStartFailure(
  role: string,
  o: Pick<MasterStartErrorOptions, 'host' | 'port' | 'reason' | 'exitCode' | 'signal' | 'timeoutMs' | 'cause'>,
): { what: string; fix: string } {
  const where = `The ${role} on ${o.host} (port ${o.port})`;
  switch (o.reason) {
    case 'timeout':
      return {
        what: `${where} was not ready within ${o.timeoutMs ?? '?'} ms.`,
        fix: 'Raise timeoutMs if it is just slow, or start with debug: true to watch its output.',
      };
    case 'exited': {
      const how = o.exitCode === null || o.exitCode === undefined ? `was ended by ${o.signal ?? 'a signal'}` : `exited with code ${o.exitCode}`;
      return {
        what: `${where} ${how} before it was ready.`,
        fix: 'Fix what its stderr reports (start with debug: true to see all of its output).',
      };
    }
    case 'failed':
      return {
        what: `${where} could not be started: ${messageOf(o.cause)}.`,
        fix: 'Check that its command exists on that host and that the host is reachable.',
      };
  }
}

function tailText(stderrTail: string): string {
  const tail = stderrTail.trim();
  return tail === '' ? ' It wrote nothing to stderr.' : ` Its stderr ended with:\n${tail}\n`;
}

function messageOf(cause: unknown): string {
  if (cause instanceof Error) return cause.message.replace(/\.$/, '');
  if (cause === undefined) return 'unknown error';
  return typeof cause === 'string' ? cause : JSON.stringify(cause) ?? 'unknown error';
}

function causeOf(cause: unknown): { cause: unknown } | undefined {
  return cause === undefined ? undefined : { cause };
}
