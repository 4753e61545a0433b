import { describe, expect, it } from 'vitest';
import { TypedEmitter } from './typed-emitter.js';

interface Events {
  tick: { n: number };
  done: { ok: boolean };
}

describe('TypedEmitter', () => {
  it('delivers payloads to listeners in subscription order', () => {
    const events = new TypedEmitter<Events>();
    const seen: string[] = [];
    events.on('tick', ({ n }) => seen.push(`a${n}`));
    events.on('tick', ({ n }) => seen.push(`b${n}`));
    events.emit('tick', { n: 1 });
    expect(seen).toEqual(['a1', 'b1']);
  });

  it('stops a listener with the function on() returns, twice harmlessly', () => {
    const events = new TypedEmitter<Events>();
    const seen: number[] = [];
    const stop = events.on('tick', ({ n }) => seen.push(n));
    events.emit('tick', { n: 1 });
    stop();
    stop();
    events.emit('tick', { n: 2 });
    expect(seen).toEqual([1]);
    expect(events.listenerCount()).toBe(0);
  });

  it('keeps two subscriptions of the same function apart', () => {
    const events = new TypedEmitter<Events>();
    let calls = 0;
    const listener = (): void => {
      calls++;
    };
    const stopFirst = events.on('done', listener);
    events.on('done', listener);
    stopFirst();
    events.emit('done', { ok: true });
    expect(calls).toBe(1);
  });

  it('calls a once() listener a single time', () => {
    const events = new TypedEmitter<Events>();
    const seen: number[] = [];
    events.once('tick', ({ n }) => seen.push(n));
    events.emit('tick', { n: 1 });
    events.emit('tick', { n: 2 });
    expect(seen).toEqual([1]);
  });

  it('reports a throwing listener and still calls the next one', () => {
    const errors: string[] = [];
    const events = new TypedEmitter<Events>({ onListenerError: (error, event) => errors.push(`${event}: ${(error as Error).message}`) });
    const seen: number[] = [];
    events.on('tick', () => {
      throw new Error('ui bug');
    });
    events.on('tick', ({ n }) => seen.push(n));
    events.emit('tick', { n: 7 });
    expect(seen).toEqual([7]);
    expect(errors).toEqual(['tick: ui bug']);
  });
});
