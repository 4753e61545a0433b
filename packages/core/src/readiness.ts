import { connect } from 'node:net';
import type { Readable } from 'node:stream';
import { LineSplitter } from './internal/output.js';

/** Options of {@link waitForOutputLine}. */
export interface WaitForOutputLineOptions {
  /** Stops waiting; the promise then rejects with the signal's reason. */
  readonly signal?: AbortSignal | undefined;
  /** Which streams to watch. @default 'both' */
  readonly stream?: 'stdout' | 'stderr' | 'both' | undefined;
}

/**
 * Resolves with the first line a process writes that matches `pattern` (a substring or a
 * regular expression), e.g. the line a server prints once it listens. Only output written
 * after the call is seen, so call it right after starting the process. When the output
 * ends without a match the promise stays pending until `signal` aborts: a launcher's
 * readiness check is always raced against the process ending, which reports it better.
 *
 * @example
 * await waitForOutputLine(proc, /listening on port \d+/, { signal });
 */
export async function waitForOutputLine(
  process: { readonly stdout: Readable; readonly stderr: Readable },
  pattern: string | RegExp,
  options: WaitForOutputLineOptions = {},
): Promise<string> {
  const { signal, stream = 'both' } = options;
  signal?.throwIfAborted();
  const streams = stream === 'both' ? [process.stdout, process.stderr] : [process[stream]];
  const matches = (line: string): boolean => (typeof pattern === 'string' ? line.includes(pattern) : pattern.test(line));
  return await new Promise<string>((resolve, reject) => {
    const detach: (() => void)[] = [];
    const finish = (): void => {
      for (const undo of detach) undo();
    };
    for (const source of streams) {
      const splitter = new LineSplitter();
      const onData = (chunk: Buffer | string): void => {
        const line = splitter.push(chunk).find(matches);
        if (line === undefined) return;
        finish();
        resolve(line);
      };
      const onEnd = (): void => {
        const line = splitter.flush().find(matches);
        if (line === undefined) return;
        finish();
        resolve(line);
      };
      source.on('data', onData);
      source.once('end', onEnd);
      detach.push(() => {
        source.off('data', onData);
        source.off('end', onEnd);
      });
    }
    if (signal !== undefined) {
      const onAbort = (): void => {
        finish();
        reject(signal.reason as Error);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      detach.push(() => signal.removeEventListener('abort', onAbort));
    }
  });
}

/** Options of {@link waitForTcpPort}. */
export interface WaitForTcpPortOptions {
  /** Where to connect. @default '127.0.0.1' */
  readonly host?: string | undefined;
  /** Stops waiting; the promise then rejects with the signal's reason. */
  readonly signal?: AbortSignal | undefined;
}

/**
 * Resolves once something on the manager accepts TCP connections on `port`: tries to
 * connect, and after a refusal tries again with a short, growing pause (10 ms up to 200 ms).
 * Use it for a master on the manager; for one on a remote host watch its output instead.
 *
 * @example
 * await waitForTcpPort(8786, { signal });
 */
export async function waitForTcpPort(port: number, options: WaitForTcpPortOptions = {}): Promise<void> {
  const { host = '127.0.0.1', signal } = options;
  let pause = 10;
  for (;;) {
    signal?.throwIfAborted();
    if (await canConnect(host, port, signal)) return;
    signal?.throwIfAborted();
    await pauseFor(pause, signal);
    pause = Math.min(pause * 2, 200);
  }
}

async function canConnect(host: string, port: number, signal: AbortSignal | undefined): Promise<boolean> {
  return await new Promise<boolean>((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean): void => {
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(ok);
    };
    const onAbort = (): void => done(false);
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function pauseFor(ms: number, signal: AbortSignal | undefined): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
