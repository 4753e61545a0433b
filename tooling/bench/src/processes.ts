import { spawn } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';

export interface LocalResult {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** SIGKILL the command after this long. */
  readonly timeoutMs?: number;
  readonly cwd?: string;
}

// Every long-lived local process a bench starts, so SIGINT can stop them all.
const tracked = new Set<ChildProcess>();

/** Starts a local process that `stopAll` (SIGINT) will kill if the bench does not. */
export function start(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  tracked.add(child);
  child.once('exit', () => tracked.delete(child));
  child.once('error', () => tracked.delete(child));
  return child;
}

/** Resolves with the exit code (null when killed by a signal). */
export async function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  return await new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(null));
  });
}

/** SIGTERM, then SIGKILL when it has not exited after `graceMs`. */
export async function stop(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited(child);
  clearTimeout(timer);
}

export function stopAll(): void {
  for (const child of tracked) child.kill('SIGKILL');
}

/** Runs a local command to completion; a non-zero exit is a result. */
export async function runLocal(command: string, args: readonly string[], options: RunOptions = {}): Promise<LocalResult> {
  const child = start(command, args, options.cwd === undefined ? {} : { cwd: options.cwd });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
  const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()).once('error', () => resolve()));
  const exitCode = await exited(child);
  await closed;
  if (timer !== undefined) clearTimeout(timer);
  return { exitCode, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') };
}

/** Like `runLocal`, but a non-zero exit rejects with the command's stderr. */
export async function runChecked(command: string, args: readonly string[], options: RunOptions = {}): Promise<LocalResult> {
  const result = await runLocal(command, args, options);
  if (result.exitCode !== 0) {
    const detail = result.stderr.trim() || result.stdout.trim();
    throw new Error(`${command} ${args.join(' ')} exited with ${result.exitCode}: ${detail}`);
  }
  return result;
}

/** Resolves with the first line of `stream` matching `pattern`; rejects if it ends first or after `timeoutMs`. */
export async function waitForLine(stream: NodeJS.ReadableStream, pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  return await new Promise((resolve, reject) => {
    let buffered = '';
    const finish = (error?: Error, match?: RegExpExecArray): void => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('end', onEnd);
      if (match !== undefined) resolve(match);
      else reject(error ?? new Error('no match'));
    };
    const onData = (chunk: Buffer | string): void => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const match = pattern.exec(line);
        if (match !== null) {
          finish(undefined, match);
          return;
        }
      }
    };
    const onEnd = (): void => finish(new Error(`the output ended before a line matching ${pattern}`));
    const timer = setTimeout(() => finish(new Error(`no line matching ${pattern} within ${timeoutMs} ms`)), timeoutMs);
    stream.on('data', onData);
    stream.once('end', onEnd);
  });
}
