import { setMaxListeners } from 'node:events';
import type { Logger } from '@lazycluster/runtime';

/** The logger used when none is given: says nothing. */
export const SILENT_LOGGER: Logger = Object.freeze({});

/** How long a start may take when no `timeoutMs` is given. */
export const DEFAULT_START_TIMEOUT_MS = 30_000;

/** How long a stopped process gets between SIGTERM and SIGKILL when no `stopGraceMs` is given. */
export const DEFAULT_STOP_GRACE_MS = 3_000;

/** `{ signal }` when a signal is given, `{}` otherwise (for `exactOptionalPropertyTypes`). */
export function signalOption(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal === undefined ? {} : { signal };
}

/** A signal that aborts when any of `signals` does. */
export function anySignal(signals: readonly (AbortSignal | undefined)[]): AbortSignal {
  const combined = AbortSignal.any(signals.filter((s): s is AbortSignal => s !== undefined));
  // Every worker of a start listens on the same signal; dozens of them are expected, not a leak.
  setMaxListeners(0, combined);
  return combined;
}

/** The first message line of an error, for events and logs. */
export function reasonOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0] ?? text;
}

/** Throws `errors` as one error: itself when there is one, an `AggregateError` when there are more. */
export function throwAll(errors: readonly unknown[], what: string): void {
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, `${errors.length} steps failed while ${what}`);
}
