/**
 * Every error the lazycluster packages throw on purpose has one of these codes.
 * The code is stable across releases; messages may improve.
 *
 * - `PORT_IN_USE`: a port that was asked for by number is taken on some host.
 * - `NO_PORTS_LEFT`: none of a list of candidate ports is free where it has to be.
 * - `TASK_EXECUTION`: a step of a runtime task failed.
 * - `COMMAND_FAILED`: a remote or local command exited non-zero where success was required.
 * - `INVALID_RUNTIME`: a host cannot be used as a runtime (unknown alias, no shell, no python3...).
 * - `NO_RUNTIMES_DETECTED`: discovery found no usable host at all.
 * - `PATH_CREATION`: a directory could not be created on a host.
 * - `HOST_KEY_MISMATCH`: the host key does not match known_hosts (or is unknown under `strict`).
 * - `AUTHENTICATION`: the SSH server refused every key and method offered.
 * - `CONNECTION`: a host could not be reached, or the connection was lost.
 * - `MASTER_START`: a cluster master did not come up.
 * - `WORKER_START`: a cluster worker did not come up.
 * - `TIMEOUT`: an operation did not finish within its `timeoutMs`.
 * - `PROTOCOL`: a peer answered something the protocol does not allow.
 * - `CONFIG`: a configuration file or option is malformed.
 */
export type LazyclusterErrorCode =
  | 'PORT_IN_USE'
  | 'NO_PORTS_LEFT'
  | 'TASK_EXECUTION'
  | 'COMMAND_FAILED'
  | 'INVALID_RUNTIME'
  | 'NO_RUNTIMES_DETECTED'
  | 'PATH_CREATION'
  | 'HOST_KEY_MISMATCH'
  | 'AUTHENTICATION'
  | 'CONNECTION'
  | 'MASTER_START'
  | 'WORKER_START'
  | 'TIMEOUT'
  | 'PROTOCOL'
  | 'CONFIG';

// A brand rather than instanceof, so errors from two copies of the package still match.
const BRAND = Symbol.for('lazycluster.error');

/** Base class of every error lazycluster throws on purpose. */
export class LazyclusterError extends Error {
  readonly code: LazyclusterErrorCode;
  readonly [BRAND] = true;

  constructor(code: LazyclusterErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** True for any lazycluster error, even one made by a duplicate copy of this package. */
export function isLazyclusterError(value: unknown): value is LazyclusterError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}
