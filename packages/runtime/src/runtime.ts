import { homedir } from 'node:os';
import { isAbsolute, join, posix, resolve as resolveLocal } from 'node:path';
import { isLazyclusterError, negotiatePort, parseProcNetTcp, PortInUseError, remoteProbe, requirePort, type PortProbe } from '@lazycluster/ports';
import { CommandFailedError, ConnectionError, InvalidRuntimeError, PathCreationError } from './errors.js';
import { AgentClient, AgentClosedError, type AgentChannel } from './internal/agent/agent-client.js';
import { agentLaunchCommand, launchLocalAgent, NO_PYTHON_MESSAGE } from './internal/agent/agent-launch.js';
import { assertTransferPath, copyLocal, downloadPath, transferFailure, uploadPath, type TransferAttempt } from './internal/file-transfer.js';
import { parseInfo, INFO_COMMAND, type RuntimeInfo } from './internal/runtime-info.js';
import { resolveRuntimeHost } from './internal/ssh/resolve-runtime-host.js';
import { SshConnection, type HostKeyPolicy } from './internal/ssh/ssh-connection.js';
import { connectOnManager, listenOnManager, makeTunnel, splice, type Tunnel } from './internal/tunnels.js';
import { silentLogger, type Logger } from './logger.js';
import { RemoteProcess } from './remote-process.js';
import type { RuntimeTask } from './task.js';
import { TaskRun, type ExecuteTaskOptions } from './task-run.js';

export type { HostKeyPolicy } from './internal/ssh/ssh-connection.js';
export type { RuntimeInfo } from './internal/runtime-info.js';
export type { Tunnel } from './internal/tunnels.js';

const DEFAULT_HEARTBEAT_SECONDS = 60;

/** The host name of the manager's own runtime: local processes, no SSH. */
export const LOCALHOST = 'localhost';

export interface RuntimeOptions {
  /** Directory on the host that commands run in and relative paths resolve against. @default a new temp dir, removed at cleanup */
  readonly workingDir?: string;
  /** Variables exported to every command on this runtime. */
  readonly env?: Readonly<Record<string, string>>;
  /** @default `$LAZYCLUSTER_SSH_CONFIG`, else `~/.ssh/config` */
  readonly sshConfigPath?: string;
  /** Overrides of the SSH config for this host. */
  readonly user?: string;
  readonly port?: number;
  readonly identityFile?: string | readonly string[];
  /** ssh-agent socket, or false to never use an agent. @default `$SSH_AUTH_SOCK` */
  readonly agent?: string | false;
  /** A jump host (`alias` or `user@host:port`), as OpenSSH's ProxyJump. */
  readonly proxyJump?: string;
  /** @default 'strict': the key must be in known_hosts, as StrictHostKeyChecking=yes */
  readonly hostKeyPolicy?: HostKeyPolicy;
  /** Seconds of silence after which the host's agent stops everything, taking the manager for gone. @default 60 */
  readonly heartbeatSeconds?: number;
  /** Where task logs go: `<logDir>/execution_log/<host>/...`. @default process.cwd() */
  readonly logDir?: string;
  readonly logger?: Logger;
}

export interface CommandOptions {
  /** Directory to run in, relative to the working directory. @default the working directory */
  readonly cwd?: string;
  /** Variables for this command, on top of the runtime's. */
  readonly env?: Readonly<Record<string, string>>;
}

export interface ExecOptions extends CommandOptions {
  /** Stop the command (and everything it started) after this long; rejects with `timedOut`. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Text fed to the command's stdin. */
  readonly input?: string | Buffer;
}

export interface SpawnOptions extends CommandOptions {
  /** Keep stdin open for `write()`. @default false */
  readonly stdin?: boolean;
}

export interface ExecResult {
  readonly host: string;
  readonly command: string;
  readonly stdout: string;
  readonly stderr: string;
  /** Null when the command was ended by a signal. */
  readonly exitCode: number | null;
  readonly signal: string | null;
}

/** A command given as a shell string, or as an argument vector run without any shell. */
export type Command = string | readonly string[];

interface Session {
  readonly agent: AgentClient;
  readonly ssh: SshConnection | undefined;
  workingDir: Promise<string> | undefined;
}

/**
 * One machine: the manager itself (`'localhost'`) or a host reached over one multiplexed
 * SSH connection, opened on first use and re-opened on next use after a drop.
 *
 * @example
 * await using rt = new Runtime('h1');
 * const { stdout } = await rt.exec('hostname');
 */
export class Runtime {
  readonly host: string;
  readonly #options: RuntimeOptions;
  readonly #logger: Logger;
  #env: Record<string, string>;
  #session: Promise<Session> | undefined;
  #info: Promise<RuntimeInfo> | undefined;
  readonly #processes = new Set<RemoteProcess>();
  readonly #tunnels = new Set<Tunnel>();
  readonly #runs: TaskRun[] = [];
  #cleanedUp = false;
  #cleanup: Promise<void> | undefined;

  constructor(host: string, options: RuntimeOptions = {}) {
    if (typeof host !== 'string' || host.trim() === '') throw new TypeError('A runtime needs a host name.');
    this.host = host;
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
    this.#env = { ...options.env };
  }

  /** True for the manager's own runtime. */
  get isLocal(): boolean {
    return this.host === LOCALHOST;
  }

  /** Variables exported to every command (without `WORKING_DIR`, which is always added). */
  get env(): Readonly<Record<string, string>> {
    return this.#env;
  }

  /** Replace the variables exported to every command. */
  setEnv(env: Readonly<Record<string, string>>): void {
    this.#env = { ...env };
  }

  /** Add variables to those exported to every command. */
  addEnv(env: Readonly<Record<string, string>>): void {
    Object.assign(this.#env, env);
  }

  /** The working directory, created when first needed. */
  async workingDir(): Promise<string> {
    const session = await this.#open();
    return await this.#workingDirOf(session);
  }

  /** Open the connection now (it is otherwise opened on first use). */
  async connect(options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.#open(options.signal);
  }

  /** Run a command to completion. A non-zero exit is a result, not an error. */
  async exec(command: Command, options: ExecOptions = {}): Promise<ExecResult> {
    const { timeoutMs, signal, input } = options;
    const spawnOptions: SpawnOptions = { ...options, stdin: input !== undefined };
    const proc = await this.spawn(command, spawnOptions);
    if (input !== undefined) {
      proc.write(input);
      proc.endInput();
    }
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    proc.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    proc.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    let timedOut = false;
    let canceled = false;
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
      timedOut = true;
      proc.kill(undefined, { graceMs: 1000 });
    }, timeoutMs);
    const onAbort = (): void => {
      canceled = true;
      proc.kill(undefined, { graceMs: 1000 });
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted === true) onAbort();
    try {
      const outcome = await proc.outcome;
      await Promise.all([ended(proc.stdout), ended(proc.stderr)]);
      const result: ExecResult = {
        host: this.host,
        command: describe(command),
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
        exitCode: outcome.exitCode,
        signal: outcome.signal,
      };
      if (timedOut || canceled) {
        throw new CommandFailedError({ ...result, timedOut, isCanceled: canceled, cause: canceled ? signal?.reason : undefined });
      }
      return result;
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Like `exec`, but a non-zero exit rejects with `CommandFailedError`. */
  async run(command: Command, options: ExecOptions = {}): Promise<ExecResult> {
    const result = await this.exec(command, options);
    if (result.exitCode !== 0) throw new CommandFailedError({ ...result, timedOut: false, isCanceled: false });
    return result;
  }

  /** Start a long-running process; see {@link RemoteProcess}. */
  async spawn(command: Command, options: SpawnOptions = {}): Promise<RemoteProcess> {
    this.#assertUsable();
    assertCommand(command, options);
    const session = await this.#open();
    const workingDir = await this.#workingDirOf(session);
    const cwd = options.cwd === undefined ? workingDir : this.#remotePath(workingDir, options.cwd);
    const env = { ...this.#env, ...options.env, WORKING_DIR: workingDir };
    const request = typeof command === 'string' ? { cmd: command } : { argv: [...command] };
    let agentProcess;
    try {
      agentProcess = await session.agent.run({ ...request, cwd, env, stdin: options.stdin ?? false });
    } catch (error) {
      if (error instanceof AgentClosedError) throw this.#translate(error, describe(command));
      // The agent could not start it: no such program, or no such cwd.
      const reason = error instanceof Error ? error.message : String(error);
      throw new CommandFailedError({ host: this.host, command: describe(command), exitCode: null, stdout: '', stderr: `could not start it in ${cwd}: ${reason}`, cause: error });
    }
    const proc = new RemoteProcess(this.host, describe(command), agentProcess);
    this.#processes.add(proc);
    void proc.outcome.finally(() => this.#processes.delete(proc)).catch(() => undefined);
    this.#logger.debug?.(`${this.host}: started pid ${proc.pid}: ${describe(command)}`);
    return proc;
  }

  /** Processes started by this runtime that are still running. */
  get processes(): readonly RemoteProcess[] {
    return [...this.#processes];
  }

  /** Facts about the host, read in one round trip and cached. */
  async info(): Promise<RuntimeInfo> {
    this.#info ??= this.exec(INFO_COMMAND).then((result) => parseInfo(this.host, result.stdout));
    this.#info.catch(() => {
      this.#info = undefined;
    });
    return await this.#info;
  }

  /** Copy a local file or directory to the host. Relative remote paths are relative to the working directory. */
  async sendFile(localPath: string, remotePath?: string): Promise<string> {
    assertTransferPath(localPath, 'local path');
    if (remotePath !== undefined) assertTransferPath(remotePath, 'remote path');
    const session = await this.#open();
    const workingDir = await this.#workingDirOf(session);
    const source = resolveLocal(localPath);
    const target = this.#remotePath(workingDir, remotePath ?? posix.basename(source));
    try {
      if (session.ssh === undefined) await copyLocal(source, target);
      else await uploadPath(await session.ssh.sftp(), source, target);
    } catch (error) {
      throw this.#transferError(session, { host: this.host, direction: 'send', localPath: source, remotePath: target }, error);
    }
    return target;
  }

  /** Copy a file or directory from the host. @default localPath: its base name in the current directory */
  async getFile(remotePath: string, localPath?: string): Promise<string> {
    assertTransferPath(remotePath, 'remote path');
    if (localPath !== undefined) assertTransferPath(localPath, 'local path');
    const session = await this.#open();
    const workingDir = await this.#workingDirOf(session);
    const source = this.#remotePath(workingDir, remotePath);
    const target = resolveLocal(localPath ?? posix.basename(source));
    try {
      if (session.ssh === undefined) await copyLocal(source, target);
      else await downloadPath(await session.ssh.sftp(), source, target);
    } catch (error) {
      throw this.#transferError(session, { host: this.host, direction: 'get', localPath: target, remotePath: source }, error);
    }
    return target;
  }

  /**
   * Make a service on the manager's 127.0.0.1:localPort reachable on this host's
   * 127.0.0.1:runtimePort. Rejects with `PortInUseError` when runtimePort is taken there.
   */
  async exposePortToRuntime(localPort: number, runtimePort = localPort): Promise<Tunnel> {
    this.#assertUsable();
    const session = await this.#open();
    let tunnel: Tunnel;
    if (session.ssh === undefined) {
      if (localPort === runtimePort) return makeTunnel(runtimePort, localPort, async () => {});
      tunnel = await listenOnManager(this.host, runtimePort, localPort, async () => await connectOnManager(localPort));
    } else {
      const ssh = session.ssh;
      const listening = await ssh.listenRemote(runtimePort, (stream) => {
        connectOnManager(localPort).then(
          (socket) => splice(stream, socket),
          () => stream.destroy(),
        );
      });
      if (!listening) throw new PortInUseError({ port: runtimePort, hosts: [this.host] });
      tunnel = makeTunnel(runtimePort, localPort, async () => await ssh.unlistenRemote(runtimePort));
    }
    return this.#track(tunnel);
  }

  /**
   * Make a service on this host's 127.0.0.1:runtimePort reachable on the manager's
   * 127.0.0.1:localPort. Rejects with `PortInUseError` when localPort is taken on the manager.
   */
  async exposePortFromRuntime(runtimePort: number, localPort = runtimePort): Promise<Tunnel> {
    this.#assertUsable();
    const session = await this.#open();
    if (session.ssh === undefined && localPort === runtimePort) return makeTunnel(localPort, runtimePort, async () => {});
    const tunnel = await listenOnManager(this.host, localPort, runtimePort, async () => {
      const current = await this.#open();
      return current.ssh === undefined ? await connectOnManager(runtimePort) : await current.ssh.connectRemote(runtimePort);
    });
    return this.#track(tunnel);
  }

  /** A port probe for `@lazycluster/ports`: one round trip reads every listening port. */
  portProbe(): PortProbe {
    const viaShell = remoteProbe(this.host, async (command, options) => (await this.run(command, options?.signal === undefined ? {} : { signal: options.signal })).stdout);
    return {
      host: this.host,
      busyPorts: async (candidates, options) => {
        // The agent asks the kernel itself (sock_diag netlink, else /proc/net/tcp{,6}): one
        // message each way, no process to start. Only where both fail does `ss` run.
        const session = await this.#open(options?.signal);
        const answer = await session.agent.call<number[] | string | null>('listening').catch((error: unknown) => {
          throw this.#translate(error, 'read the listening ports');
        });
        if (answer === null) return await viaShell.busyPorts(candidates, options);
        const listening = typeof answer === 'string' ? parseProcNetTcp(answer) : new Set(answer);
        return new Set(candidates.filter((port) => listening.has(port)));
      },
    };
  }

  /** True when nothing listens on `port` on this host (and no lease of this process holds it). */
  async hasFreePort(port: number): Promise<boolean> {
    try {
      const lease = await requirePort({ port, probes: [this.portProbe()] });
      lease.release();
      return true;
    } catch (error) {
      if (error instanceof PortInUseError) return false;
      throw error;
    }
  }

  /** The first of `candidates` that is free on this host; `NoPortsLeftError` when none is. */
  async getFreePort(candidates: readonly number[]): Promise<number> {
    const { port, lease } = await negotiatePort({ candidates, probes: [this.portProbe()] });
    lease.release();
    return port;
  }

  /** Run a task's steps on this host; with `async: true` returns at once (see `join()`). */
  async executeTask(task: RuntimeTask, options: ExecuteTaskOptions = {}): Promise<TaskRun> {
    this.#assertUsable();
    const run = new TaskRun(this, task, { logDir: this.#options.logDir ?? process.cwd(), ...options });
    this.#runs.push(run);
    const done = run.start();
    if (options.async === true) {
      done.catch(() => undefined);
      return run;
    }
    await done;
    return run;
  }

  /** Tasks started on this runtime, oldest first. */
  get taskRuns(): readonly TaskRun[] {
    return [...this.#runs];
  }

  /** Number of tasks currently running here (used to pick the least busy runtime). */
  get activeTaskCount(): number {
    return this.#runs.filter((run) => run.running).length;
  }

  /** The values returned by `runFunction`/`runPython` steps of every task run here, in order. */
  get functionReturns(): unknown[] {
    return this.#runs.flatMap((run) => run.functionReturns);
  }

  /** Wait for every task started with `async: true`; rejects with the first failure. */
  async join(): Promise<void> {
    const results = await Promise.allSettled(this.#runs.map(async (run) => await run.done));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  /** Write every task's execution log to `out`. @default process.stdout */
  printLog(out: NodeJS.WritableStream = process.stdout): void {
    for (const run of this.#runs) out.write(run.formatLog());
  }

  /**
   * Stop every process started here, close tunnels, remove the temp working directory and
   * the connection. Idempotent; also `await using`.
   */
  async cleanup(): Promise<void> {
    this.#cleanup ??= this.#doCleanup();
    await this.#cleanup;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.cleanup();
  }

  async #doCleanup(): Promise<void> {
    this.#cleanedUp = true;
    await Promise.allSettled([...this.#tunnels].map(async (tunnel) => await tunnel.close()));
    const session = await this.#session?.catch(() => undefined);
    if (session === undefined || session.agent.isClosed) return;
    // Closing the agent's stdin makes it stop every process tree and remove its temp dirs.
    await session.agent.close();
    await session.ssh?.close();
    this.#logger.debug?.(`${this.host}: cleaned up`);
  }

  #assertUsable(): void {
    if (this.#cleanedUp) throw new InvalidRuntimeError({ host: this.host, reason: 'it has been cleaned up; create a new Runtime' });
  }

  #track(tunnel: Tunnel): Tunnel {
    const tracked = makeTunnel(tunnel.listenPort, tunnel.targetPort, async () => {
      this.#tunnels.delete(tracked);
      await tunnel.close();
    });
    this.#tunnels.add(tracked);
    return tracked;
  }

  async #open(signal?: AbortSignal): Promise<Session> {
    this.#assertUsable();
    const current = this.#session;
    if (current !== undefined) {
      const session = await current.catch(() => undefined);
      if (session !== undefined && !session.agent.isClosed) return session;
      // Another caller may have started the reconnect while we waited: share it.
      if (this.#session !== current) return await this.#open(signal);
    }
    const opening = this.#connectSession(signal);
    this.#session = opening;
    opening.catch(() => {
      if (this.#session === opening) this.#session = undefined;
    });
    return await opening;
  }

  async #connectSession(signal?: AbortSignal): Promise<Session> {
    const heartbeat = this.#options.heartbeatSeconds ?? DEFAULT_HEARTBEAT_SECONDS;
    if (this.isLocal) {
      const agent = await this.#attachAgent(launchLocalAgent(heartbeat), signal);
      return { agent, ssh: undefined, workingDir: undefined };
    }
    const { target, jump } = await resolveRuntimeHost(this.host, {
      ...this.#options,
      sshConfigPath: this.#options.sshConfigPath ?? defaultSshConfigPath(),
    });
    const ssh = await SshConnection.connect({
      target,
      ...(jump === undefined ? {} : { jump }),
      hostKeyPolicy: this.#options.hostKeyPolicy ?? 'strict',
      ...(this.#options.agent === undefined ? {} : { agent: this.#options.agent }),
      logger: this.#logger,
      ...(signal === undefined ? {} : { signal }),
    });
    try {
      const agent = await this.#attachAgent(await ssh.execChannel(agentLaunchCommand(heartbeat)), signal);
      void agent.closed.then(() => ssh.close());
      return { agent, ssh, workingDir: undefined };
    } catch (error) {
      await ssh.close();
      throw error;
    }
  }

  async #attachAgent(channel: AgentChannel, signal?: AbortSignal): Promise<AgentClient> {
    try {
      const agent = await AgentClient.attach(channel, signal === undefined ? {} : { signal });
      agent.startHeartbeat(this.#options.heartbeatSeconds ?? DEFAULT_HEARTBEAT_SECONDS);
      return agent;
    } catch (error) {
      if (!(error instanceof AgentClosedError)) throw error;
      const noPython = error.reason.includes(NO_PYTHON_MESSAGE);
      throw new InvalidRuntimeError({
        host: this.host,
        reason: noPython ? 'python3 was not found on it; install python3 there' : `its login shell could not start the runtime agent: ${error.reason}`,
        cause: error,
      });
    }
  }

  async #workingDirOf(session: Session): Promise<string> {
    session.workingDir ??= (async () => {
      const given = this.#options.workingDir;
      try {
        if (given === undefined) return await session.agent.call<string>('mkdtemp', { prefix: 'lazycluster-' });
        // Remote relative and `~` paths are resolved by the agent, against the home directory.
        const path = this.isLocal && !isAbsolute(given) && !given.startsWith('~') ? resolveLocal(given) : given;
        return await session.agent.call<string>('mkdirs', { path });
      } catch (error) {
        session.workingDir = undefined;
        if (error instanceof AgentClosedError) throw this.#translate(error, 'create the working directory');
        throw new PathCreationError({ host: this.host, path: given ?? '(temporary directory)', cause: error });
      }
    })();
    return await session.workingDir;
  }

  #remotePath(workingDir: string, path: string): string {
    if (path.startsWith('~/')) return this.isLocal ? join(homedir(), path.slice(2)) : path.slice(2);
    return posix.isAbsolute(path) ? path : posix.join(workingDir, path);
  }

  #transferError(session: Session, attempt: TransferAttempt, error: unknown): unknown {
    if (isLazyclusterError(error)) return error;
    if (session.ssh?.isClosed === true) {
      return new ConnectionError({ host: this.host, cause: error, detail: `the connection was lost (${attempt.direction} ${attempt.remotePath})` });
    }
    return transferFailure(attempt, error);
  }

  #translate(error: unknown, what: string): unknown {
    if (error instanceof AgentClosedError) return new ConnectionError({ host: this.host, cause: error, detail: `the connection was lost (${what})` });
    return error;
  }
}

/** `$LAZYCLUSTER_SSH_CONFIG`, else `~/.ssh/config`. */
export function defaultSshConfigPath(): string {
  const fromEnv = process.env.LAZYCLUSTER_SSH_CONFIG;
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : join(homedir(), '.ssh', 'config');
}

/**
 * Refuse, before anything is sent, what no process can receive: NUL bytes (C strings end
 * there) and environment names that are empty or contain `=`.
 */
function assertCommand(command: Command, options: SpawnOptions): void {
  const parts = typeof command === 'string' ? [command] : command;
  if (parts.length === 0) throw new TypeError('A command needs at least one argument.');
  if (parts.some((part) => part.includes('\0'))) throw new TypeError('A command cannot contain a NUL byte.');
  if (options.cwd?.includes('\0') === true) throw new TypeError('A working directory cannot contain a NUL byte.');
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (name === '' || name.includes('=') || name.includes('\0')) throw new TypeError(`Invalid environment variable name ${JSON.stringify(name)}: it must be non-empty, without "=" or NUL.`);
    if (value.includes('\0')) throw new TypeError(`The value of environment variable ${name} contains a NUL byte.`);
  }
}

function describe(command: Command): string {
  return typeof command === 'string' ? command : command.join(' ');
}

async function ended(stream: NodeJS.ReadableStream): Promise<void> {
  if ((stream as { readableEnded?: boolean }).readableEnded === true) return;
  await new Promise<void>((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
  });
}
