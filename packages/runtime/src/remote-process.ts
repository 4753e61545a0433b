import type { Readable } from 'node:stream';
import { ConnectionError } from './errors.js';
import type { AgentProcess } from './internal/agent/agent-client.js';
import { AgentClosedError } from './internal/agent/agent-client.js';

/** How a process ended: an exit code, or the signal that ended it. */
export interface ProcessOutcome {
  readonly exitCode: number | null;
  readonly signal: string | null;
}

/**
 * A process started by {@link Runtime.spawn}. It is stopped by `kill()`, by the runtime's
 * `cleanup()`, and on the host itself as soon as the manager's connection goes away.
 */
export class RemoteProcess {
  /** Resolves with the exit code (null when ended by a signal). */
  readonly exited: Promise<number | null>;
  /** Resolves with the exit code and signal. */
  readonly outcome: Promise<ProcessOutcome>;

  /** @internal */
  constructor(
    /** The runtime's host name. */
    readonly host: string,
    /** The command line, as given. */
    readonly command: string,
    private readonly proc: AgentProcess,
  ) {
    this.outcome = proc.exited.then(
      async (exit) => {
        // The exit often arrives in the same packet as the last output, before the caller
        // of spawn() has even attached its readers. One turn of the event loop lets readers
        // attached right after spawn() receive that output before anyone hears of the exit.
        await new Promise((resolve) => setImmediate(resolve));
        return { exitCode: exit.code, signal: exit.signal };
      },
      (error: unknown) => {
        throw error instanceof AgentClosedError
          ? new ConnectionError({ host, cause: error, detail: `lost while "${truncate(command)}" was running` })
          : error;
      },
    );
    this.outcome.catch(() => undefined);
    this.exited = this.outcome.then((o) => o.exitCode);
    this.exited.catch(() => undefined);
  }

  /** The process id on its host (the leader of its own process group). */
  get pid(): number {
    return this.proc.pid;
  }

  get stdout(): Readable {
    return this.proc.stdout;
  }

  get stderr(): Readable {
    return this.proc.stderr;
  }

  /** True until the process has exited. */
  get running(): boolean {
    return this.proc.running;
  }

  /**
   * Stop the process and everything it started. With no signal: SIGTERM, then SIGKILL
   * after `graceMs` if anything is still alive. With a signal: send just that signal.
   */
  kill(signal?: NodeJS.Signals, options: { graceMs?: number } = {}): void {
    if (signal === undefined) this.proc.kill('SIGTERM', { escalate: true, graceMs: options.graceMs ?? 3000 });
    else this.proc.kill(signal);
  }

  /** Stop the process (as `kill()`) and wait until it has exited. */
  async stop(options: { graceMs?: number } = {}): Promise<ProcessOutcome> {
    this.kill(undefined, options);
    return await this.outcome.catch(() => ({ exitCode: null, signal: 'SIGKILL' }));
  }

  /** Write to the process's stdin (spawn with `stdin: true`). */
  write(data: string | Buffer): void {
    this.proc.write(data);
  }

  /** Close the process's stdin. */
  endInput(): void {
    this.proc.endInput();
  }
}

function truncate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
