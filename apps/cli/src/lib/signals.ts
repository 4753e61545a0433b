import { constants } from 'node:os';

/** The signals that stop a command: Ctrl-C and `kill`. */
export type StopSignal = 'SIGINT' | 'SIGTERM';

/** What to do on the first stop signal, and on any later one (the user insists). */
export interface InterruptHandlers {
  first(signal: StopSignal): void;
  again(signal: StopSignal): void;
}

/**
 * Takes over SIGINT and SIGTERM until the returned function is called. While these listeners
 * are installed, Node no longer exits on its own on these signals (and neither does the
 * cluster's exit handling, which sees that someone else listens): the command decides.
 */
export function onInterrupt(handlers: InterruptHandlers): () => void {
  let count = 0;
  const listener = (signal: StopSignal): void => {
    count++;
    if (count === 1) handlers.first(signal);
    else handlers.again(signal);
  };
  process.on('SIGINT', listener);
  process.on('SIGTERM', listener);
  return () => {
    process.off('SIGINT', listener);
    process.off('SIGTERM', listener);
  };
}

/** The exit code a shell reports for a process ended by `signal`: 128 + its number. */
export function signalExitCode(signal: string): number {
  const number = (constants.signals as Record<string, number | undefined>)[signal];
  return 128 + (number ?? 0);
}
