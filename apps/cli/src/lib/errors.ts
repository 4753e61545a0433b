import { inspect } from 'node:util';
// From ports, the lightest package: this module is loaded before any command runs.
import { LazyclusterError, isLazyclusterError } from '@lazycluster/ports';

/** Exit codes of the `lazycluster` command. */
export const EXIT_OK = 0;
/** Something failed: a host, a cluster, a file. */
export const EXIT_FAILURE = 1;
/** The command line itself is wrong: nothing was attempted. */
export const EXIT_USAGE = 2;

/**
 * The command line is wrong (a bad flag value, a missing `--`, a malformed host): exit code 2.
 * It uses the `CONFIG` code, the one lazycluster gives to malformed options.
 */
export class UsageError extends LazyclusterError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONFIG', message, options);
  }
}

/** True for a {@link UsageError}, even one from another copy of this module. */
export function isUsageError(error: unknown): error is UsageError {
  return isLazyclusterError(error) && error.name === 'UsageError';
}

/** The exit code for an error that reached the top level. */
export function exitCodeFor(error: unknown): number {
  return isUsageError(error) ? EXIT_USAGE : EXIT_FAILURE;
}

/**
 * What the top-level catch prints: one message (lazycluster's own messages already say what
 * failed, where and what to do), the stack and causes only with `--debug`.
 */
export function formatError(error: unknown, options: { debug: boolean; command?: string | undefined }): string {
  const message = messageOf(error);
  const lines = [`lazycluster: ${message}`];
  if (isUsageError(error) && options.command !== undefined) lines.push(`See \`lazycluster ${options.command} --help\`.`);
  if (!isLazyclusterError(error) && !options.debug) lines.push('This is unexpected; run again with --debug to see where it happened.');
  if (options.debug) lines.push(...debugDetails(error));
  return `${lines.join('\n')}\n`;
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message.trim() || error.name;
  return typeof error === 'string' ? error : inspect(error);
}

function debugDetails(error: unknown): string[] {
  const lines: string[] = [];
  let current: unknown = error;
  const seen = new Set<unknown>();
  while (current !== undefined && current !== null && !seen.has(current)) {
    seen.add(current);
    if (current instanceof Error) {
      const code = isLazyclusterError(current) ? ` [${current.code}]` : '';
      lines.push(`${lines.length === 0 ? '' : 'Caused by: '}${current.stack ?? `${current.name}: ${current.message}`}${code}`);
      current = current.cause;
    } else {
      lines.push(`Caused by: ${inspect(current)}`);
      break;
    }
  }
  return lines;
}
