/** A listener of one event: receives the event's payload. */
export type EventListener<Payload> = (payload: Payload) => void;

/** Stops a listener; calling it again does nothing. */
export type Unsubscribe = () => void;

/**
 * A small event emitter whose event names and payloads are checked by the compiler.
 * A listener that throws does not stop the others nor the emitter's owner: the error
 * goes to `onListenerError`.
 *
 * @example
 * const events = new TypedEmitter<{ tick: { n: number } }>();
 * const stop = events.on('tick', ({ n }) => render(n));
 * events.emit('tick', { n: 1 });
 * stop();
 */
export class TypedEmitter<Events extends { [K in keyof Events]: object }> {
  readonly #listeners = new Map<keyof Events, Set<EventListener<never>>>();
  readonly #onListenerError: (error: unknown, event: keyof Events) => void;

  constructor(options: { onListenerError?: (error: unknown, event: keyof Events) => void } = {}) {
    this.#onListenerError = options.onListenerError ?? (() => undefined);
  }

  /** Calls `listener` on every `event` until the returned function is called. */
  on<K extends keyof Events>(event: K, listener: EventListener<Events[K]>): Unsubscribe {
    let set = this.#listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    // NOTE: wrapped, so subscribing the same function twice gives two independent subscriptions.
    const entry: EventListener<Events[K]> = (payload) => listener(payload);
    set.add(entry);
    return () => {
      set.delete(entry);
      if (set.size === 0 && this.#listeners.get(event) === set) this.#listeners.delete(event);
    };
  }

  /** Like {@link on}, for the next `event` only. */
  once<K extends keyof Events>(event: K, listener: EventListener<Events[K]>): Unsubscribe {
    const stop = this.on(event, (payload) => {
      stop();
      listener(payload);
    });
    return stop;
  }

  /** Calls every listener of `event`, in the order they subscribed. */
  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const set = this.#listeners.get(event);
    if (set === undefined) return;
    for (const listener of [...set] as EventListener<Events[K]>[]) {
      try {
        listener(payload);
      } catch (error) {
        this.#onListenerError(error, event);
      }
    }
  }

  /** How many listeners `event` has (all events when omitted). */
  listenerCount(event?: keyof Events): number {
    if (event !== undefined) return this.#listeners.get(event)?.size ?? 0;
    let count = 0;
    for (const set of this.#listeners.values()) count += set.size;
    return count;
  }

  /** Drops every listener. */
  clear(): void {
    this.#listeners.clear();
  }
}
