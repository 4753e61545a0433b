import { DaskConfigError, TimeoutError } from './errors.js';

/** Options every network call of the client takes. */
export interface DaskCallOptions {
  /** Give up after this many milliseconds with a `TimeoutError`; `Infinity` waits for ever. */
  readonly timeoutMs?: number;
  /** Cancels the call; it then rejects with `signal.reason`. */
  readonly signal?: AbortSignal;
}

export interface DeadlineSpec {
  readonly address: string;
  readonly operation: string;
  /** What to check or change, for the timeout message. */
  readonly hint: string;
  /** How far the operation got, read when the deadline passes. */
  readonly progress?: () => string;
}

// setTimeout fires at once for delays above 2^31-1 ms; such deadlines are as good as none.
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Runs `work` with a signal that aborts when the deadline passes (reason: `TimeoutError`),
 * when `options.signal` aborts, or when one of `signals` does; rejects with that reason.
 */
export async function withDeadline<T>(
  spec: DeadlineSpec,
  options: DaskCallOptions,
  defaultTimeoutMs: number,
  signals: readonly AbortSignal[],
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  if (Number.isNaN(timeoutMs) || timeoutMs < 0) {
    throw new DaskConfigError(`timeoutMs must be a number of milliseconds >= 0, got ${timeoutMs} (${spec.operation}).`);
  }
  const deadline = new AbortController();
  const timer =
    timeoutMs > MAX_TIMER_MS
      ? undefined
      : setTimeout(() => {
          const progress = spec.progress?.();
          deadline.abort(
            new TimeoutError({
              address: spec.address,
              operation: spec.operation,
              timeoutMs,
              hint: spec.hint,
              ...(progress === undefined ? {} : { detail: progress }),
            }),
          );
        }, timeoutMs);
  const signal = AbortSignal.any([deadline.signal, ...signals, ...(options.signal ? [options.signal] : [])]);
  try {
    signal.throwIfAborted();
    return await work(signal);
  } catch (error) {
    // Aborting tears connections down, which raises errors of its own: the reason is the news.
    if (signal.aborted) throw signal.reason;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** Waits `ms`, or rejects with `signal.reason` as soon as it aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
