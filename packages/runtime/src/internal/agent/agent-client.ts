import { readFileSync } from 'node:fs';
import { PassThrough, type Readable, type Writable } from 'node:stream';

/** The pipes of a started agent: an SSH exec channel or a local child process. */
export interface AgentChannel {
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Resolves when the channel is gone, whatever the reason. */
  readonly closed: Promise<void>;
  /** Force the channel shut (the agent then cleans up on its own). */
  destroy(): void;
}

export interface RunRequest {
  readonly cmd?: string;
  readonly argv?: readonly string[];
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly stdin?: boolean;
}

export interface ProcessExit {
  /** Exit code, or null when the process was ended by a signal. */
  readonly code: number | null;
  readonly signal: string | null;
}

type AgentEvent =
  | { ev: 'hello'; pid: number; python: string }
  | { id: number; ev: 'started'; pid: number }
  | { id: number; ev: 'out' | 'err'; d: string }
  | { id: number; ev: 'exit'; code: number | null; signal: string | null }
  | { id: number; ev: 'result'; value: unknown }
  | { id?: number; ev: 'error'; message: string };

/** The agent's source, shipped beside this module (copied into dist by the build). */
export const AGENT_SOURCE = readFileSync(new URL('./agent.py', import.meta.url), 'utf8');

const UNREAD_OUTPUT_LIMIT = 1024 * 1024;
const ATTACH_TIMEOUT_MS = 30_000;
const MAX_SHELL_NOISE = 64 * 1024;

/** The agent's hello in a line, after whatever the shell printed without a newline. */
function helloIn(line: string): { pid: number; python: string } | undefined {
  const at = line.indexOf('{"ev":"hello"');
  if (at < 0) return undefined;
  try {
    const message = JSON.parse(line.slice(at)) as { ev?: unknown; pid: number; python: string };
    return message.ev === 'hello' ? message : undefined;
  } catch {
    return undefined;
  }
}

/** Raised when the agent connection is gone while something still waited on it. */
export class AgentClosedError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'AgentClosedError';
  }
}

interface Pending {
  onStarted?: (pid: number) => void;
  onOutput?: (kind: 'out' | 'err', data: Buffer) => void;
  onExit?: (exit: ProcessExit) => void;
  onResult?: (value: unknown) => void;
  onError: (error: Error) => void;
}

/** One process started through the agent. */
export class AgentProcess {
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  readonly exited: Promise<ProcessExit>;
  #pid = 0;
  #done = false;

  constructor(
    private readonly client: AgentClient,
    readonly id: number,
    exited: Promise<ProcessExit>,
  ) {
    this.exited = exited.finally(() => {
      this.#done = true;
    });
  }

  get pid(): number {
    return this.#pid;
  }

  /** @internal */
  setPid(pid: number): void {
    this.#pid = pid;
  }

  get running(): boolean {
    return !this.#done;
  }

  /** Send a signal to the process tree, or with `escalate`, TERM then KILL after `graceMs`. */
  kill(signal = 'SIGTERM', options: { escalate?: boolean; graceMs?: number } = {}): void {
    if (this.#done) return;
    this.client.send({
      op: 'kill',
      id: this.id,
      signal,
      escalate: options.escalate ?? false,
      grace: (options.graceMs ?? 3000) / 1000,
    });
  }

  write(data: Buffer | string): void {
    this.client.send({ op: 'stdin', id: this.id, d: Buffer.from(data).toString('base64') });
  }

  endInput(): void {
    this.client.send({ op: 'stdin', id: this.id });
  }
}

/** Speaks the agent's line protocol over one channel. */
export class AgentClient {
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  #closedReason: string | undefined;
  #buffer = '';
  readonly closed: Promise<void>;
  readonly agentPid: number;
  readonly python: string;

  private constructor(
    private readonly channel: AgentChannel,
    hello: { pid: number; python: string },
    initialBuffer: string,
  ) {
    this.agentPid = hello.pid;
    this.python = hello.python;
    this.#buffer = initialBuffer;
    channel.stdout.on('data', (chunk: Buffer) => this.#onData(chunk));
    this.closed = channel.closed.then(() => this.#fail('the connection to the runtime was closed'));
    channel.stdin.on('error', () => undefined);
    this.#drain();
  }

  /**
   * Wait for the agent's hello on a freshly started channel. Rejects with what the remote
   * side printed on stderr when it exits first (no python3, a broken login shell...).
   */
  static async attach(channel: AgentChannel, options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<AgentClient> {
    const stderr: Buffer[] = [];
    const onErr = (chunk: Buffer): void => {
      stderr.push(chunk);
    };
    channel.stderr.on('data', onErr);
    let buffer = '';
    // What a chatty login shell printed before the agent started (an echo in .bashrc).
    let noise = '';
    const timeoutMs = options.timeoutMs ?? ATTACH_TIMEOUT_MS;
    return await new Promise<AgentClient>((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        channel.destroy();
        reject(new AgentClosedError(`the runtime agent did not answer within ${timeoutMs} ms; the login shell may be waiting for input (check ~/.bashrc and ~/.profile)`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        channel.stdout.off('data', onData);
        options.signal?.removeEventListener('abort', onAbort);
      };
      const onData = (chunk: Buffer): void => {
        buffer += chunk.toString('utf8');
        let newline: number;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + 1);
          const hello = helloIn(line);
          if (hello !== undefined) {
            cleanup();
            resolve(new AgentClient(channel, hello, buffer));
            return;
          }
          noise += `${line}\n`;
        }
        if (noise.length + buffer.length > MAX_SHELL_NOISE) {
          cleanup();
          channel.destroy();
          reject(new AgentClosedError(`the runtime agent did not start; the login shell printed: ${(noise + buffer).slice(0, 200)}`));
        }
      };
      const onAbort = (): void => {
        cleanup();
        channel.destroy();
        reject(options.signal?.reason as Error);
      };
      channel.stdout.on('data', onData);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      void channel.closed.then(() => {
        cleanup();
        const text = Buffer.concat(stderr).toString('utf8').trim();
        reject(new AgentClosedError(text === '' ? 'the runtime agent exited before it started' : text));
      });
    }).finally(() => channel.stderr.off('data', onErr));
  }

  get isClosed(): boolean {
    return this.#closedReason !== undefined;
  }

  /** @internal */
  send(message: Record<string, unknown>): void {
    if (this.#closedReason !== undefined) return;
    this.channel.stdin.write(`${JSON.stringify(message)}\n`);
  }

  /** Start a process; resolves once the agent reports its pid. */
  async run(request: RunRequest): Promise<AgentProcess> {
    const id = this.#nextId++;
    let started!: (pid: number) => void;
    let failed!: (error: Error) => void;
    const startedPromise = new Promise<number>((resolve, reject) => {
      started = resolve;
      failed = reject;
    });
    let exitResolve!: (exit: ProcessExit) => void;
    let exitReject!: (error: Error) => void;
    const exited = new Promise<ProcessExit>((resolve, reject) => {
      exitResolve = resolve;
      exitReject = reject;
    });
    // The exit promise may be rejected before anyone awaits it (connection lost).
    exited.catch(() => undefined);
    const proc = new AgentProcess(this, id, exited);
    let hasStarted = false;
    this.#pending.set(id, {
      onStarted: (pid) => {
        hasStarted = true;
        proc.setPid(pid);
        started(pid);
      },
      onOutput: (kind, data) => {
        const stream = kind === 'out' ? proc.stdout : proc.stderr;
        // Nobody has ever read this stream (a long-running worker whose logs nobody wants):
        // keep a bounded backlog instead of growing without limit.
        if (stream.readableFlowing === null && stream.readableLength > UNREAD_OUTPUT_LIMIT) return;
        stream.write(data);
      },
      onExit: (exit) => {
        this.#pending.delete(id);
        proc.stdout.end();
        proc.stderr.end();
        exitResolve(exit);
      },
      onError: (error) => {
        this.#pending.delete(id);
        proc.stdout.end();
        proc.stderr.end();
        if (hasStarted) exitReject(error);
        else failed(error);
      },
    });
    this.send({ op: 'run', id, ...request, stdin: request.stdin ?? false });
    this.#throwIfClosed();
    await startedPromise;
    return proc;
  }

  /** A request/response operation of the agent (mkdtemp, rmtree, ping...). */
  async call<T>(op: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.#nextId++;
    return await new Promise<T>((resolve, reject) => {
      this.#pending.set(id, {
        onResult: (value) => {
          this.#pending.delete(id);
          resolve(value as T);
        },
        onError: (error) => {
          this.#pending.delete(id);
          reject(error);
        },
      });
      this.send({ op, id, ...params });
      this.#throwIfClosed();
    });
  }

  /**
   * Send a sign of life every `seconds / 4`, so an agent started with a heartbeat of
   * `seconds` only gives up on a manager that is really gone. The timer never keeps the
   * manager's process alive.
   */
  startHeartbeat(seconds: number): void {
    if (seconds <= 0) return;
    const timer = setInterval(() => this.send({ op: 'beat' }), (seconds * 1000) / 4);
    timer.unref();
    void this.closed.then(() => clearInterval(timer));
  }

  /** Close the agent's stdin: it stops everything it started, removes its temp dirs and exits. */
  async close(): Promise<void> {
    this.channel.stdin.end();
    await this.closed;
  }

  destroy(): void {
    this.channel.destroy();
  }

  #throwIfClosed(): void {
    if (this.#closedReason !== undefined) this.#fail(this.#closedReason);
  }

  #onData(chunk: Buffer): void {
    this.#buffer += chunk.toString('utf8');
    this.#drain();
  }

  #drain(): void {
    let newline: number;
    while ((newline = this.#buffer.indexOf('\n')) >= 0) {
      const line = this.#buffer.slice(0, newline);
      this.#buffer = this.#buffer.slice(newline + 1);
      if (line.trim() !== '') this.#dispatch(JSON.parse(line) as AgentEvent);
    }
  }

  #dispatch(event: AgentEvent): void {
    if (event.ev === 'hello') return;
    if (event.id === undefined) return;
    const pending = this.#pending.get(event.id);
    if (pending === undefined) return;
    switch (event.ev) {
      case 'started':
        pending.onStarted?.(event.pid);
        break;
      case 'out':
      case 'err':
        pending.onOutput?.(event.ev, Buffer.from(event.d, 'base64'));
        break;
      case 'exit':
        pending.onExit?.({ code: event.code, signal: event.signal });
        break;
      case 'result':
        pending.onResult?.(event.value);
        break;
      case 'error':
        pending.onError(new Error(event.message));
        break;
    }
  }

  #fail(reason: string): void {
    this.#closedReason ??= reason;
    const error = new AgentClosedError(this.#closedReason);
    for (const pending of [...this.#pending.values()]) pending.onError(error);
    this.#pending.clear();
  }
}
