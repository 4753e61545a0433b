import { LazyclusterError } from '@lazycluster/ports';

/** Why a host key was refused. */
export type HostKeyProblem = 'mismatch' | 'unknown' | 'revoked';

/** Fields of {@link HostKeyMismatchError}. */
export interface HostKeyMismatchErrorOptions {
  /** The name looked up in known_hosts (the HostName, or HostKeyAlias when set). */
  readonly host: string;
  readonly port: number;
  readonly reason: HostKeyProblem;
  /** Type of the key the server presented, e.g. `ssh-ed25519`. */
  readonly keyType: string;
  /** Fingerprint of the presented key as OpenSSH prints it: `SHA256:` + unpadded base64. */
  readonly fingerprint: string;
  /** known_hosts file of the conflicting (or revoking) entry. */
  readonly file?: string | undefined;
  /** 1-based line of that entry. */
  readonly line?: number | undefined;
  /** Key type recorded in known_hosts for this host (mismatch only). */
  readonly expectedType?: string | undefined;
  /** known_hosts files that were searched (named in the message for `unknown`). */
  readonly files?: readonly string[] | undefined;
  readonly cause?: unknown;
}

/**
 * The server's host key is not the one known_hosts holds for it, is not known at all while
 * `hostKeyPolicy` is `'strict'`, or has been marked `@revoked`.
 */
export class HostKeyMismatchError extends LazyclusterError {
  readonly host: string;
  readonly port: number;
  readonly reason: HostKeyProblem;
  readonly keyType: string;
  readonly fingerprint: string;
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly expectedType: string | undefined;
  readonly files: readonly string[];

  constructor(options: HostKeyMismatchErrorOptions) {
    super('HOST_KEY_MISMATCH', hostKeyMessage(options), { cause: options.cause });
    this.host = options.host;
    this.port = options.port;
    this.reason = options.reason;
    this.keyType = options.keyType;
    this.fingerprint = options.fingerprint;
    this.file = options.file;
    this.line = options.line;
    this.expectedType = options.expectedType;
    this.files = options.files ?? (options.file === undefined ? [] : [options.file]);
  }
}

function hostKeyMessage(o: HostKeyMismatchErrorOptions): string {
  const target = o.port === 22 ? o.host : `[${o.host}]:${o.port}`;
  const where = o.file === undefined ? '' : ` (${o.file}${o.line === undefined ? '' : `:${o.line}`})`;
  const presented = `${o.keyType} key ${o.fingerprint}`;
  switch (o.reason) {
    case 'mismatch': {
      const remove = `ssh-keygen -R '${target}'${o.file === undefined ? '' : ` -f ${o.file}`}`;
      return (
        `Host key for ${target} has changed: the server presented ${presented}, but known_hosts` +
        `${where} holds a different ${o.expectedType ?? o.keyType} key. This can mean someone is` +
        ` intercepting the connection, or the host was reinstalled. Verify the new fingerprint with` +
        ` the host's administrator, then remove the old entry with \`${remove}\` and connect again.`
      );
    }
    case 'revoked':
      return (
        `Host key for ${target} is revoked: the server presented ${presented}, which known_hosts` +
        `${where} marks @revoked. Refusing to connect; ask the host's administrator for the current key.`
      );
    case 'unknown': {
      const files = o.files?.length ? ` (searched ${o.files.join(', ')})` : '';
      return (
        `Host key for ${target} is not known${files} and hostKeyPolicy is 'strict'. The server` +
        ` presented ${presented}. After verifying that fingerprint, add it with \`ssh-keyscan` +
        `${o.port === 22 ? '' : ` -p ${o.port}`} ${o.host} >> ~/.ssh/known_hosts\` or by connecting` +
        ` once with \`ssh\`, or use hostKeyPolicy 'accept-new' to record it on first use.`
      );
    }
  }
}

/** Fields of {@link AuthenticationError}. */
export interface AuthenticationErrorOptions {
  readonly host: string;
  readonly user: string;
  /** Private key files offered, in order. */
  readonly keyFiles: readonly string[];
  /** Whether an ssh-agent was asked for keys. */
  readonly agent: boolean;
  readonly cause?: unknown;
}

/** The SSH server refused every key and method offered. */
export class AuthenticationError extends LazyclusterError {
  readonly host: string;
  readonly user: string;
  readonly keyFiles: readonly string[];
  readonly agent: boolean;

  constructor(options: AuthenticationErrorOptions) {
    const keys = options.keyFiles.length ? `key files ${options.keyFiles.join(', ')}` : 'no key files';
    const agent = options.agent ? 'and the ssh-agent' : 'and no ssh-agent (SSH_AUTH_SOCK unset or agent disabled)';
    super(
      'AUTHENTICATION',
      `Authentication as ${options.user}@${options.host} failed: the server refused ${keys} ${agent}.` +
        ` Check the user name, put the public key in ~${options.user}/.ssh/authorized_keys on the host` +
        ` (\`ssh-copy-id ${options.user}@${options.host}\`), or set IdentityFile in the SSH config` +
        ` (or the identityFile option) to the right private key.`,
      { cause: options.cause },
    );
    this.host = options.host;
    this.user = options.user;
    this.keyFiles = options.keyFiles;
    this.agent = options.agent;
  }
}

/** Fields of {@link ConnectionError}. */
export interface ConnectionErrorOptions {
  /** The runtime's host as the user named it (alias or user@host). */
  readonly host: string;
  /** The address actually dialled (HostName), when known. */
  readonly address?: string | undefined;
  readonly port?: number | undefined;
  /** What was going on, e.g. `the connection was lost` or `through jump host gw`. */
  readonly detail?: string | undefined;
  /** The underlying error, e.g. a Node `ECONNREFUSED` error or a timeout. */
  readonly cause?: unknown;
}

/** A host could not be reached, or its connection was lost. */
export class ConnectionError extends LazyclusterError {
  readonly host: string;
  readonly address: string | undefined;
  readonly port: number | undefined;
  readonly detail: string | undefined;

  constructor(options: ConnectionErrorOptions) {
    const target =
      options.address === undefined
        ? options.host
        : `${options.host} (${options.address}${options.port === undefined ? '' : ` port ${options.port}`})`;
    const detail = options.detail === undefined ? '' : ` ${options.detail}`;
    const cause = options.cause === undefined ? '' : `: ${describeCause(options.cause)}`;
    super('CONNECTION', `SSH connection to ${target} failed${detail}${cause}. ${connectionHint(options.cause)}`, {
      cause: options.cause,
    });
    this.host = options.host;
    this.address = options.address;
    this.port = options.port;
    this.detail = options.detail;
  }
}

function errorCode(cause: unknown): string | undefined {
  if (typeof cause === 'object' && cause !== null && 'code' in cause && typeof cause.code === 'string') {
    return cause.code;
  }
  return undefined;
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) return cause.message;
  if (typeof cause === 'string') return cause;
  return 'connection failed';
}

function connectionHint(cause: unknown): string {
  switch (errorCode(cause) ?? '') {
    case 'ECONNREFUSED':
      return 'Nothing listens on that port: check that sshd is running on the host and that Port is right.';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'The name does not resolve: check HostName in the SSH config (or the host you passed).';
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'The host did not answer: check the address, the network and firewalls, or raise ConnectTimeout.';
    case 'ECONNRESET':
      return 'The host closed the connection: check that sshd is healthy (MaxStartups, logs) and retry.';
    default:
      return 'Check the address and port, that sshd is running on the host, and ConnectTimeout in the SSH config.';
  }
}

/** Fields of {@link InvalidRuntimeError}. */
export interface InvalidRuntimeErrorOptions {
  readonly host: string;
  /** What makes the host unusable, phrased so it can follow "because". */
  readonly reason: string;
  readonly cause?: unknown;
}

/** A host cannot be used as a runtime (unknown alias, no usable shell, no python3...). */
export class InvalidRuntimeError extends LazyclusterError {
  readonly host: string;
  readonly reason: string;

  constructor(options: InvalidRuntimeErrorOptions) {
    super('INVALID_RUNTIME', `${options.host} cannot be used as a runtime: ${options.reason}.`, { cause: options.cause });
    this.host = options.host;
    this.reason = options.reason;
  }
}

/** A host that discovery left out, and why. */
export interface InactiveHostReason {
  readonly host: string;
  readonly reason: string;
}

/** Fields of {@link NoRuntimesDetectedError}. */
export interface NoRuntimesDetectedErrorOptions {
  /** The SSH config that was read, if any. */
  readonly sshConfigPath?: string | undefined;
  /** How many hosts were checked. */
  readonly checked?: number | undefined;
  /** Why none was kept, e.g. `no active host passed the filters`. */
  readonly reason?: string | undefined;
  /** Every host left out and why. */
  readonly inactiveHosts?: readonly InactiveHostReason[] | undefined;
  readonly cause?: unknown;
}

/** Discovery found no usable host at all. */
export class NoRuntimesDetectedError extends LazyclusterError {
  readonly sshConfigPath: string | undefined;
  readonly checked: number | undefined;
  readonly reason: string | undefined;
  readonly inactiveHosts: readonly InactiveHostReason[];

  constructor(options: NoRuntimesDetectedErrorOptions = {}) {
    const inactive = options.inactiveHosts ?? [];
    const config = options.sshConfigPath ?? 'the SSH config';
    const checked = options.checked === undefined ? '' : ` (${options.checked} checked)`;
    const reason = options.reason === undefined ? '' : `: ${options.reason}`;
    const detail = inactive.length ? ` Left out: ${inactive.map((h) => `${h.host} (${h.reason})`).join('; ')}.` : '';
    super(
      'NO_RUNTIMES_DETECTED',
      `No usable runtime was found in ${config}${checked}${reason}.${detail} Add hosts with` +
        ' `lazycluster add-runtime` or a Host entry in the SSH config, check that each accepts' +
        ' `ssh HOST python3 --version`, or loosen the filters.',
      { cause: options.cause },
    );
    this.sshConfigPath = options.sshConfigPath;
    this.checked = options.checked;
    this.reason = options.reason;
    this.inactiveHosts = inactive;
  }
}

/** Fields of {@link PathCreationError}. */
export interface PathCreationErrorOptions {
  readonly host: string;
  readonly path: string;
  readonly cause?: unknown;
}

/** A directory could not be created on a host. */
export class PathCreationError extends LazyclusterError {
  readonly host: string;
  readonly path: string;

  constructor(options: PathCreationErrorOptions) {
    const why = options.cause === undefined ? '' : `: ${describeCause(options.cause)}`;
    super(
      'PATH_CREATION',
      `Cannot create directory ${options.path} on ${options.host}${why}. Check that the user may write` +
        ' to its parent and the disk is not full, or choose another workingDir.',
      { cause: options.cause },
    );
    this.host = options.host;
    this.path = options.path;
  }
}

/** Which step of a task failed. */
export interface TaskStepRef {
  /** 0-based position of the step in the task. */
  readonly index: number;
  /** Human description, e.g. `runCommand: pip install dask`. */
  readonly description: string;
}

/** Fields of {@link TaskExecutionError}. */
export interface TaskExecutionErrorOptions {
  readonly host: string;
  readonly task: string;
  readonly step: TaskStepRef;
  /** Exit code of the step's process; null or undefined when it ran none or was killed by a signal. */
  readonly exitCode?: number | null | undefined;
  /** The last lines of the step's stderr. */
  readonly stderrTail?: string | undefined;
  readonly cause?: unknown;
}

/** A step of a runtime task failed; the task stopped there. */
export class TaskExecutionError extends LazyclusterError {
  readonly host: string;
  readonly task: string;
  readonly step: TaskStepRef;
  readonly exitCode: number | null;
  readonly stderrTail: string;

  constructor(options: TaskExecutionErrorOptions) {
    const code = options.exitCode === undefined || options.exitCode === null ? '' : ` with exit code ${options.exitCode}`;
    const tail = options.stderrTail?.trim() ? `\n${options.stderrTail.trimEnd()}` : '';
    super(
      'TASK_EXECUTION',
      `Task "${options.task}" failed on ${options.host} at step ${options.step.index + 1}` +
        ` (${options.step.description})${code}. Later steps were not run; see the stderr below and the` +
        ` task's execution log.${tail}`,
      { cause: options.cause },
    );
    this.host = options.host;
    this.task = options.task;
    this.step = options.step;
    this.exitCode = options.exitCode ?? null;
    this.stderrTail = options.stderrTail ?? '';
  }
}

/** Fields of {@link CommandFailedError}: the same as a command result, plus the host. */
export interface CommandFailedErrorOptions {
  readonly host: string;
  readonly command: string;
  /** Null when the process was ended by a signal or never exited. */
  readonly exitCode: number | null | undefined;
  /** The signal that ended the process, e.g. `SIGTERM`. */
  readonly signal?: string | null | undefined;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut?: boolean | undefined;
  readonly isCanceled?: boolean | undefined;
  readonly cause?: unknown;
}

const STDERR_TAIL_LINES = 10;

/** A command exited unsuccessfully where success was required. Shaped like its result. */
export class CommandFailedError extends LazyclusterError {
  readonly host: string;
  readonly command: string;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly isCanceled: boolean;

  constructor(options: CommandFailedErrorOptions) {
    super('COMMAND_FAILED', commandMessage(options), { cause: options.cause });
    this.host = options.host;
    this.command = options.command;
    this.exitCode = options.exitCode ?? null;
    this.signal = options.signal ?? null;
    this.stdout = options.stdout;
    this.stderr = options.stderr;
    this.timedOut = options.timedOut ?? false;
    this.isCanceled = options.isCanceled ?? false;
  }
}

function commandMessage(o: CommandFailedErrorOptions): string {
  let how: string;
  if (o.timedOut) how = 'timed out';
  else if (o.isCanceled) how = 'was canceled';
  else if (o.signal !== undefined && o.signal !== null) how = `was killed by ${o.signal}`;
  else if (o.exitCode !== undefined && o.exitCode !== null) how = `failed with exit code ${o.exitCode}`;
  else how = 'failed';
  const tail = o.stderr.trimEnd().split('\n').slice(-STDERR_TAIL_LINES).join('\n');
  return `Command ${how} on ${o.host}: ${o.command}${tail ? `\n${tail}` : ''}`;
}

/** Fields of {@link SshConfigError}. */
export interface SshConfigErrorOptions {
  /** What is wrong, e.g. `Bad port "0"`. */
  readonly problem: string;
  /** The file, when the problem is in one. */
  readonly file?: string | undefined;
  /** 1-based line, when known. */
  readonly line?: number | undefined;
  readonly cause?: unknown;
}

/** An SSH config file, a host spec or a connection option is malformed. */
export class SshConfigError extends LazyclusterError {
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly problem: string;

  constructor(options: SshConfigErrorOptions) {
    const where =
      options.file === undefined ? '' : `${options.file}${options.line === undefined ? '' : ` line ${options.line}`}: `;
    super('CONFIG', `${where}${options.problem}`, { cause: options.cause });
    this.file = options.file;
    this.line = options.line;
    this.problem = options.problem;
  }
}
