import type { ProcessOutcome } from '@lazycluster/runtime';
import type { ClusterProcess } from '../cluster-process.js';
import { captureOutput, outputEnded, type CapturedOutput } from './output.js';

/** How an attempt to bring a process up ended. */
export type StartAttempt<P extends ClusterProcess> =
  | { readonly kind: 'ready'; readonly process: P; readonly output: CapturedOutput }
  | { readonly kind: 'exited'; readonly process: P; readonly output: CapturedOutput; readonly outcome: ProcessOutcome }
  | { readonly kind: 'timeout'; readonly process: P | undefined; readonly output: CapturedOutput | undefined }
  | { readonly kind: 'aborted'; readonly process: P | undefined; readonly output: CapturedOutput | undefined; readonly reason: unknown }
  | { readonly kind: 'failed'; readonly process: P | undefined; readonly output: CapturedOutput | undefined; readonly error: unknown };

export interface StartAttemptOptions<P extends ClusterProcess> {
  /** Starts the process; must honour `signal` or at least return once it can. */
  readonly launch: (signal: AbortSignal) => Promise<P>;
  /** Resolves once the process is ready; must stop waiting when `signal` aborts. */
  readonly waitUntilReady: (process: P, signal: AbortSignal) => Promise<void>;
  /** The whole attempt (launch and readiness) must be done within this. */
  readonly timeoutMs: number;
  /** Aborts the attempt; the attempt then ends as `aborted` with the signal's reason. */
  readonly signal: AbortSignal;
  /** Echo the process's output, line by line. */
  readonly echo?: { readonly out: NodeJS.WritableStream; readonly prefix: string } | undefined;
}

/**
 * Launches a process and waits until it is ready, racing readiness against the process
 * ending early, the deadline and `signal`. Never rejects: the caller decides what each
 * outcome means. A process that did not become ready is left running (the caller stops
 * it); one that a hung `launch` returns after the attempt gave up is stopped here.
 */
export async function attemptStart<P extends ClusterProcess>(options: StartAttemptOptions<P>): Promise<StartAttempt<P>> {
  const attempt = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    attempt.abort(new Error(`not ready within ${options.timeoutMs} ms`));
  }, options.timeoutMs);
  const onAbort = (): void => attempt.abort(options.signal.reason);
  if (options.signal.aborted) onAbort();
  else options.signal.addEventListener('abort', onAbort, { once: true });

  const stopped = (): StartAttempt<P> & { kind: 'timeout' | 'aborted' } =>
    timedOut
      ? { kind: 'timeout', process: undefined, output: undefined }
      : { kind: 'aborted', process: undefined, output: undefined, reason: attempt.signal.reason };
  const abortedPromise = new Promise<'aborted'>((resolve) => {
    if (attempt.signal.aborted) resolve('aborted');
    else attempt.signal.addEventListener('abort', () => resolve('aborted'), { once: true });
  });

  try {
    if (attempt.signal.aborted) return stopped();
    const launching = options.launch(attempt.signal);
    let launched: { process: P } | { error: unknown } | 'aborted';
    try {
      launched = await Promise.race([launching.then((process) => ({ process })), abortedPromise]);
    } catch (error) {
      launched = { error };
    }
    if (launched === 'aborted') {
      // NOTE: otherwise a launch that finishes after we gave up would leave its process running.
      launching.then(async (late) => await late.stop(), () => undefined);
      return stopped();
    }
    if ('error' in launched) {
      if (attempt.signal.aborted) return stopped();
      return { kind: 'failed', process: undefined, output: undefined, error: launched.error };
    }
    const process = launched.process;
    const output = captureOutput(process, options.echo);

    const ready = options.waitUntilReady(process, attempt.signal).then(
      () => 'ready' as const,
      (error: unknown) => (attempt.signal.aborted ? ('aborted' as const) : { error }),
    );
    // Waiting for the output to end first lets readiness seen in the last lines win.
    const exited = process.outcome.then(
      async (outcome) => {
        await outputEnded(process);
        return { outcome };
      },
      (error: unknown) => ({ error }),
    );
    const result = await Promise.race([ready, exited, abortedPromise]);
    if (result === 'ready') return { kind: 'ready', process, output };
    if (result === 'aborted') return { ...stopped(), process, output };
    if ('outcome' in result) return { kind: 'exited', process, output, outcome: result.outcome };
    return { kind: 'failed', process, output, error: result.error };
  } finally {
    clearTimeout(timer);
    options.signal.removeEventListener('abort', onAbort);
    // Tells a readiness check that is still polling to stop.
    attempt.abort(new Error('the start attempt is over'));
  }
}
