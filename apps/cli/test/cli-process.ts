// Runs the BUILT `lazycluster` binary (bin/lazycluster.js → dist/), as a user would.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../bin/lazycluster.js', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment of every run: no colours, no user SSH config by accident. */
export function cliEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...extra };
  delete env.FORCE_COLOR;
  delete env.LAZYCLUSTER_SSH_CONFIG;
  return env;
}

/** Starts the CLI; the caller waits on it with {@link finish}. */
export function startCli(args: readonly string[], options: { env?: NodeJS.ProcessEnv } = {}): ChildProcess & { output: { stdout: string; stderr: string } } {
  const child = spawn(process.execPath, [BIN, ...args], { env: cliEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output.stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output.stderr += chunk));
  return Object.assign(child, { output });
}

/** Waits for a started CLI to exit. */
export async function finish(child: ReturnType<typeof startCli>): Promise<CliResult> {
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve([child.exitCode, child.signalCode]);
    else child.once('close', (c: number | null, s: NodeJS.Signals | null) => resolve([c, s]));
  });
  return { code, signal, ...child.output };
}

/** Runs the CLI to completion. */
export async function runCli(args: readonly string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return await finish(startCli(args, options));
}

/** Resolves with the first complete stdout line of a running CLI; rejects if it exits first. */
export async function firstStdoutLine(child: ReturnType<typeof startCli>): Promise<string> {
  return await new Promise<string>((resolve, reject) => {
    const check = (): void => {
      const newline = child.output.stdout.indexOf('\n');
      if (newline >= 0) {
        child.stdout?.off('data', check);
        child.off('close', onClose);
        resolve(child.output.stdout.slice(0, newline));
      }
    };
    const onClose = (code: number | null): void => reject(new Error(`lazycluster exited (${code}) before printing a line:\n${child.output.stderr}`));
    child.stdout?.on('data', check);
    child.once('close', onClose);
    check();
  });
}

/** A TCP port the OS says is free on the manager right now. */
export async function freePort(): Promise<number> {
  return await new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
