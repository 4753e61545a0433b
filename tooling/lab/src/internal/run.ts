import { spawn } from 'node:child_process';
import { constants } from 'node:os';

/** What a finished command produced; a non-zero exit is a result, not a rejection. */
export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
  /** The exit code, or 128 + signal number when the command was killed by a signal. */
  readonly exitCode: number;
}

export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly input?: string;
  readonly timeoutMs?: number;
}

/** Runs `file` with `args` (never through a shell) and collects its output. */
export function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs, killSignal: 'SIGKILL' as const }),
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (error) => reject(new Error(`could not start ${file}: ${error.message}`, { cause: error })));
    child.on('close', (code, signal) => {
      resolve({
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
        exitCode: code ?? 128 + (signal === null ? 0 : constants.signals[signal]),
      });
    });
    // The command may exit without reading its input; that is not an error here.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}
