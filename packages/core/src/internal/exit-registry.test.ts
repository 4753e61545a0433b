import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ExitRegistry, type ExitParticipant, type ExitReason, type ProcessLike } from './exit-registry.js';

/** A stand-in for `process`: a real emitter that records exits and stderr instead of dying. */
class FakeProcess extends EventEmitter implements ProcessLike {
  readonly exits: number[] = [];
  readonly written: string[] = [];
  readonly stderr = { write: (text: string): boolean => this.written.push(text) > 0 };
  exit(code: number): void {
    this.exits.push(code);
  }
}

function participant(log: string[], name: string, gate?: Promise<void>): ExitParticipant & { reasons: ExitReason[] } {
  const reasons: ExitReason[] = [];
  return {
    reasons,
    async cleanupFor(reason) {
      reasons.push(reason);
      await gate;
      log.push(`cleaned ${name}`);
    },
    killNow() {
      log.push(`killed ${name}`);
    },
  };
}

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setImmediate(resolve));
}

const EVENTS = ['SIGINT', 'SIGTERM', 'uncaughtException', 'beforeExit', 'exit'];

describe('ExitRegistry', () => {
  it('installs one set of listeners for any number of participants and removes it with the last', () => {
    const proc = new FakeProcess();
    const registry = new ExitRegistry(proc);
    const all = Array.from({ length: 20 }, (_, i) => participant([], `c${i}`));
    for (const p of all) registry.register(p);
    expect(EVENTS.map((e) => proc.listenerCount(e))).toEqual([1, 1, 1, 1, 1]);
    for (const p of all) registry.unregister(p);
    expect(EVENTS.map((e) => proc.listenerCount(e))).toEqual([0, 0, 0, 0, 0]);
    expect(registry.installed).toBe(false);
  });

  it('on SIGINT cleans up every participant, then exits with 130', async () => {
    const proc = new FakeProcess();
    const registry = new ExitRegistry(proc);
    const log: string[] = [];
    const a = participant(log, 'a');
    const b = participant(log, 'b');
    registry.register(a);
    registry.register(b);
    proc.emit('SIGINT');
    await until(() => proc.exits.length > 0);
    expect(log).toEqual(['cleaned a', 'cleaned b']);
    expect(a.reasons).toEqual(['signal']);
    expect(proc.exits).toEqual([130]);
  });

  it('exits with 143 after SIGTERM', async () => {
    const proc = new FakeProcess();
    const registry = new ExitRegistry(proc);
    registry.register(participant([], 'a'));
    proc.emit('SIGTERM');
    await until(() => proc.exits.length > 0);
    expect(proc.exits).toEqual([143]);
  });

  it('cleans up but leaves the exit to the application when it listens for the signal too', async () => {
    const proc = new FakeProcess();
    proc.on('SIGINT', () => undefined);
    const registry = new ExitRegistry(proc);
    const log: string[] = [];
    registry.register(participant(log, 'a'));
    proc.emit('SIGINT');
    await until(() => log.length > 0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(proc.exits).toEqual([]);
  });

  it('exits at once on a second signal while cleanup is still running', async () => {
    const proc = new FakeProcess();
    const registry = new ExitRegistry(proc);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const log: string[] = [];
    registry.register(participant(log, 'slow', gate));
    proc.emit('SIGINT');
    proc.emit('SIGINT');
    expect(proc.exits).toEqual([130]);
    release();
    await until(() => proc.exits.length > 1);
    expect(log).toEqual(['cleaned slow']);
  });

  it('gives up waiting for a cleanup that hangs after the limit', async () => {
    const proc = new FakeProcess();
    const registry = new ExitRegistry(proc, { limitMs: 20 });
    registry.register(participant([], 'stuck', new Promise<void>(() => undefined)));
    proc.emit('SIGTERM');
    await until(() => proc.exits.length > 0);
    expect(proc.exits).toEqual([143]);
  });

  it('on an uncaught exception nobody handles: cleans up, prints the error, exits with 1', async () => {
    const proc = new FakeProcess();
    const registry = new ExitRegistry(proc);
    const log: string[] = [];
    registry.register(participant(log, 'a'));
    proc.emit('uncaughtException', new Error('boom'));
    await until(() => proc.exits.length > 0);
    expect(log).toEqual(['cleaned a']);
    expect(proc.written.join('')).toContain('Error: boom');
    expect(proc.exits).toEqual([1]);
  });

  it('leaves an uncaught exception alone when the application handles it', async () => {
    const proc = new FakeProcess();
    proc.on('uncaughtException', () => undefined);
    const registry = new ExitRegistry(proc);
    const log: string[] = [];
    registry.register(participant(log, 'a'));
    proc.emit('uncaughtException', new Error('handled elsewhere'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(log).toEqual([]);
    expect(proc.exits).toEqual([]);
  });

  it('cleans up on beforeExit and kills synchronously on exit', async () => {
    const proc = new FakeProcess();
    const registry = new ExitRegistry(proc);
    const log: string[] = [];
    const a = participant(log, 'a');
    registry.register(a);
    proc.emit('exit', 0);
    expect(log).toEqual(['killed a']);
    proc.emit('beforeExit', 0);
    await until(() => log.length > 1);
    expect(a.reasons).toEqual(['exit']);
  });
});
