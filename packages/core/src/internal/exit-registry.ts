import { constants } from 'node:os';
import { inspect } from 'node:util';

/** Why the registry cleans up. */
export type ExitReason = 'signal' | 'uncaught-exception' | 'exit';

/** Something that must be cleaned up before the process goes: a live cluster. */
export interface ExitParticipant {
  /** Cleans up; never rejects. */
  cleanupFor(reason: ExitReason): Promise<void>;
  /** Last resort inside the synchronous `exit` event: kill what can be killed, now. */
  killNow(): void;
}

/** The part of `process` the registry uses, so tests can hand it a fake. */
export interface ProcessLike {
  on(event: 'SIGINT' | 'SIGTERM' | 'uncaughtException' | 'beforeExit' | 'exit', listener: (...args: unknown[]) => void): unknown;
  off(event: 'SIGINT' | 'SIGTERM' | 'uncaughtException' | 'beforeExit' | 'exit', listener: (...args: unknown[]) => void): unknown;
  listenerCount(event: string): number;
  exit(code: number): void;
  readonly stderr: { write(text: string): unknown };
}

/** The signals after which every live cluster is cleaned up. */
export const HANDLED_SIGNALS = ['SIGINT', 'SIGTERM'] as const;
type HandledSignal = (typeof HANDLED_SIGNALS)[number];

/** How long cleanup may take after a signal or a crash before the process exits anyway. */
export const EXIT_CLEANUP_LIMIT_MS = 15_000;

/**
 * The one set of process listeners shared by every live cluster of the process. Listeners are
 * installed when the first cluster registers and removed when the last one unregisters, so
 * making many clusters leaks none.
 *
 * - SIGINT / SIGTERM: every live cluster is cleaned up; then, when no one else listens for the
 *   signal, the process exits with 128 + the signal number, as it would have without us. A
 *   second signal during cleanup exits at once.
 * - An uncaught exception (an unhandled rejection too, under Node's default
 *   `--unhandled-rejections=throw`): when no one else handles it, every live cluster is
 *   cleaned up, the error is printed and the process exits with code 1, as it would have.
 *   When someone else handles it, the process goes on and so do the clusters.
 * - `beforeExit`: live clusters are cleaned up. `exit`: their processes get SIGKILL (the
 *   hosts' agents also stop everything once the connection is gone).
 */
export class ExitRegistry {
  readonly #process: ProcessLike;
  readonly #limitMs: number;
  readonly #live = new Set<ExitParticipant>();
  #installed = false;
  #shuttingDown = false;

  readonly #onSigint = (): void => this.#onSignal('SIGINT');
  readonly #onSigterm = (): void => this.#onSignal('SIGTERM');
  readonly #onUncaught = (error: unknown): void => this.#onUncaughtException(error);
  readonly #onBeforeExit = (): void => {
    if (this.#live.size === 0 || this.#shuttingDown) return;
    void this.#cleanupAll('exit');
  };
  readonly #onExit = (): void => {
    for (const participant of this.#live) {
      try {
        participant.killNow();
      } catch {
        // NOTE: the process is exiting; nothing left to report to.
      }
    }
  };

  constructor(process: ProcessLike, options: { limitMs?: number } = {}) {
    this.#process = process;
    this.#limitMs = options.limitMs ?? EXIT_CLEANUP_LIMIT_MS;
  }

  /** Number of registered participants. */
  get size(): number {
    return this.#live.size;
  }

  /** True while the process listeners are installed. */
  get installed(): boolean {
    return this.#installed;
  }

  register(participant: ExitParticipant): void {
    this.#live.add(participant);
    this.#sync();
  }

  unregister(participant: ExitParticipant): void {
    this.#live.delete(participant);
    this.#sync();
  }

  #sync(): void {
    const wanted = this.#live.size > 0 || this.#shuttingDown;
    if (wanted === this.#installed) return;
    this.#installed = wanted;
    const method = wanted ? 'on' : 'off';
    this.#process[method]('SIGINT', this.#onSigint);
    this.#process[method]('SIGTERM', this.#onSigterm);
    this.#process[method]('uncaughtException', this.#onUncaught);
    this.#process[method]('beforeExit', this.#onBeforeExit);
    this.#process[method]('exit', this.#onExit);
  }

  #onSignal(signal: HandledSignal): void {
    // Counted while our own listener is still installed.
    const alone = this.#process.listenerCount(signal) <= 1;
    const code = 128 + constants.signals[signal];
    if (this.#shuttingDown) {
      if (alone) this.#process.exit(code);
      return;
    }
    void this.#cleanupAll('signal').then(() => {
      if (alone) this.#process.exit(code);
    });
  }

  #onUncaughtException(error: unknown): void {
    if (this.#process.listenerCount('uncaughtException') > 1) return;
    const report = (): void => {
      this.#process.stderr.write(`${error instanceof Error ? (error.stack ?? String(error)) : `Uncaught ${inspect(error)}`}\n`);
      this.#process.exit(1);
    };
    if (this.#shuttingDown) {
      report();
      return;
    }
    void this.#cleanupAll('uncaught-exception').then(report);
  }

  async #cleanupAll(reason: ExitReason): Promise<void> {
    this.#shuttingDown = true;
    let timer: NodeJS.Timeout | undefined;
    try {
      const all = Promise.allSettled([...this.#live].map(async (participant) => await participant.cleanupFor(reason)));
      const limit = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.#limitMs);
      });
      await Promise.race([all, limit]);
    } finally {
      clearTimeout(timer);
      this.#shuttingDown = false;
      this.#sync();
    }
  }
}

const GLOBAL_KEY = Symbol.for('lazycluster.core.exit-registry');

/**
 * The registry of this process, shared by every copy of this package that is loaded (a
 * second copy must not install a second set of listeners).
 */
export function processExitRegistry(): ExitRegistry {
  const holder = globalThis as { [GLOBAL_KEY]?: ExitRegistry };
  holder[GLOBAL_KEY] ??= new ExitRegistry(process);
  return holder[GLOBAL_KEY];
}
