import type { Logger, RuntimeGroup } from '@lazycluster/runtime';
import type { CleanupReason, ClusterEvents } from './events.js';
import { processExitRegistry, type ExitParticipant } from './internal/exit-registry.js';
import { SILENT_LOGGER, reasonOf } from './internal/options.js';
import { TypedEmitter, type EventListener, type Unsubscribe } from './typed-emitter.js';

/** Options of a {@link RuntimeCluster}. */
export interface RuntimeClusterOptions {
  /** Where the cluster reports what it does. @default a logger that says nothing */
  readonly logger?: Logger | undefined;
}

/**
 * The base of every cluster: owns a {@link RuntimeGroup}, reports typed lifecycle events and
 * guarantees cleanup. A live cluster (one that has started something, see
 * {@link registerCleanupOnExit}) is cleaned up on SIGINT, SIGTERM, an uncaught error and normal
 * exit, through one set of process listeners shared by all clusters (removed when the last one
 * is cleaned up).
 *
 * A subclass implements {@link releaseResources}: stop everything it started; the group's
 * runtimes (connections, remote temp dirs, leftover processes) are cleaned up after it.
 */
export abstract class RuntimeCluster {
  /** The runtimes this cluster runs on; cleaned up with the cluster. */
  readonly runtimeGroup: RuntimeGroup;
  protected readonly logger: Logger;
  readonly #events: TypedEmitter<ClusterEvents>;
  readonly #participant: ExitParticipant;
  #cleanup: Promise<void> | undefined;
  #registered = false;

  constructor(group: RuntimeGroup, options: RuntimeClusterOptions = {}) {
    this.runtimeGroup = group;
    this.logger = options.logger ?? SILENT_LOGGER;
    this.#events = new TypedEmitter({
      onListenerError: (error, event) => this.logger.warn?.(`a listener of ${event} threw: ${reasonOf(error)}`),
    });
    this.#participant = {
      cleanupFor: async (reason) => await this.#cleanupFor(reason),
      killNow: () => this.killNow(),
    };
  }

  /**
   * Calls `listener` on every `event` until the returned function is called.
   *
   * @example
   * const stop = cluster.on('worker-exited', (e) => { if (!e.expected) alert(`${e.host} lost worker ${e.index}`); });
   */
  on<K extends keyof ClusterEvents>(event: K, listener: EventListener<ClusterEvents[K]>): Unsubscribe {
    return this.#events.on(event, listener);
  }

  /** True once cleanup has begun; a cleaned up cluster cannot be started again. */
  get isCleanedUp(): boolean {
    return this.#cleanup !== undefined;
  }

  /**
   * Stops everything the cluster started, then cleans up its runtime group. Idempotent and
   * safe to call concurrently (every caller waits for the same cleanup). Never rejects: a step
   * that fails is logged and listed in the `cleanup-done` event.
   */
  async cleanup(): Promise<void> {
    await this.#cleanupFor('explicit');
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.cleanup();
  }

  /** Reports `event` to the listeners. */
  protected emit<K extends keyof ClusterEvents>(event: K, payload: ClusterEvents[K]): void {
    this.#events.emit(event, payload);
  }

  /**
   * Stops everything the subclass started (processes first, then tunnels). Called once, by
   * cleanup, before the group is cleaned up. May throw (an `AggregateError` for several
   * failures): the failures are reported, and cleanup goes on.
   */
  protected abstract releaseResources(): Promise<void>;

  /**
   * Called synchronously when the process exits with the cluster still alive: send SIGKILL to
   * what can be reached now. Default: nothing.
   */
  protected killNow(): void {
    // Nothing by default.
  }

  /**
   * Puts the cluster under the process-wide exit handling (cleanup on SIGINT, SIGTERM, an
   * uncaught error, normal exit) until it is cleaned up. Idempotent. Call it before starting
   * anything; `MasterWorkerCluster` does so when it connects, starts the master or workers.
   */
  protected registerCleanupOnExit(): void {
    if (this.#registered || this.#cleanup !== undefined) return;
    this.#registered = true;
    processExitRegistry().register(this.#participant);
  }

  /** Cleans up for `reason`, unless a cleanup has already begun (then waits for that one). */
  protected async cleanupWithReason(reason: CleanupReason): Promise<void> {
    await this.#cleanupFor(reason);
  }

  async #cleanupFor(reason: CleanupReason): Promise<void> {
    this.#cleanup ??= this.#runCleanup(reason);
    await this.#cleanup;
  }

  async #runCleanup(reason: CleanupReason): Promise<void> {
    const startedAt = Date.now();
    this.emit('cleanup-started', { reason });
    const errors: unknown[] = [];
    try {
      await this.releaseResources();
    } catch (error) {
      errors.push(...(error instanceof AggregateError ? (error.errors as unknown[]) : [error]));
    }
    try {
      await this.runtimeGroup.cleanup();
    } catch (error) {
      errors.push(error);
    }
    if (this.#registered) processExitRegistry().unregister(this.#participant);
    this.#registered = false;
    for (const error of errors) this.logger.warn?.(`cleanup: ${reasonOf(error)}`);
    this.emit('cleanup-done', { reason, durationMs: Date.now() - startedAt, errors });
  }
}
