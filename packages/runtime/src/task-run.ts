import { randomBytes } from 'node:crypto';
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { TaskExecutionError } from './errors.js';
import type { Runtime } from './runtime.js';
import { describeStep, type RuntimeTask, type TaskStep } from './task.js';

export interface ExecuteTaskOptions {
  /** Return at once; wait with `join()` or `run.done`. @default false */
  readonly async?: boolean;
  /** Stream the remote output live, each line prefixed with the host. @default false */
  readonly debug?: boolean;
  /** Where debug output goes. @default process.stdout */
  readonly output?: NodeJS.WritableStream;
  /** Where `execution_log/<host>/<task>_<timestamp>.log` is written. @default the runtime's `logDir` */
  readonly logDir?: string;
}

/** One entry of a task's execution log: one step. */
export interface ExecutionLogEntry {
  readonly step: number;
  readonly description: string;
  readonly startedAt: Date;
  readonly durationMs: number;
  readonly ok: boolean;
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const STDERR_TAIL_LINES = 20;

/** One execution of a task on one runtime. */
export class TaskRun {
  readonly host: string;
  readonly log: ExecutionLogEntry[] = [];
  readonly functionReturns: unknown[] = [];
  /** Resolves when every step has run; rejects with `TaskExecutionError`. */
  done: Promise<void> = Promise.resolve();
  #running = false;
  #logFile: string | undefined;

  /** @internal */
  constructor(
    private readonly runtime: Runtime,
    readonly task: RuntimeTask,
    private readonly options: ExecuteTaskOptions & { logDir: string },
  ) {
    this.host = runtime.host;
  }

  get running(): boolean {
    return this.#running;
  }

  /** The log file of this run, once its first step has finished. */
  get logFile(): string | undefined {
    return this.#logFile;
  }

  /** @internal */
  start(): Promise<void> {
    this.#running = true;
    this.done = this.#runSteps().finally(() => {
      this.#running = false;
    });
    return this.done;
  }

  formatLog(): string {
    const lines = [`== ${this.task.name} on ${this.host}`];
    for (const entry of this.log) {
      lines.push(`-- step ${entry.step + 1}: ${entry.description} (${entry.ok ? 'ok' : `failed, exit ${entry.exitCode}`}, ${Math.round(entry.durationMs)} ms)`);
      if (entry.stdout !== '') lines.push(entry.stdout.trimEnd());
      if (entry.stderr !== '') lines.push(entry.stderr.trimEnd());
    }
    return `${lines.join('\n')}\n`;
  }

  async #runSteps(): Promise<void> {
    const stamp = new Date().toISOString().replaceAll(':', '-');
    const dir = join(this.options.logDir, 'execution_log', safeFileName(this.host));
    await mkdir(dir, { recursive: true, mode: 0o700 });
    this.#logFile = join(dir, `${safeFileName(this.task.name)}_${stamp}.log`);
    for (const [index, step] of this.task.steps.entries()) {
      const startedAt = new Date();
      const t0 = performance.now();
      let failure: unknown;
      let result: { exitCode: number | null; stdout: string; stderr: string; value?: unknown; hasValue: boolean };
      try {
        result = await this.#runStep(step);
      } catch (error) {
        failure = error;
        result = { exitCode: null, stdout: '', stderr: error instanceof Error ? error.message : String(error), hasValue: false };
      }
      const ok = result.exitCode === 0;
      const entry: ExecutionLogEntry = { step: index, description: describeStep(step), startedAt, durationMs: performance.now() - t0, ok, exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
      this.log.push(entry);
      await appendFile(this.#logFile, formatEntry(entry), { mode: 0o600 });
      if (!ok) {
        throw new TaskExecutionError({
          host: this.host,
          task: this.task.name,
          step: { index, description: entry.description },
          exitCode: result.exitCode,
          stderrTail: result.stderr.split('\n').slice(-STDERR_TAIL_LINES).join('\n').trim(),
          cause: failure,
        });
      }
      if (result.hasValue) {
        this.functionReturns.push(result.value);
        this.task.returns.push(result.value);
      }
    }
  }

  async #runStep(step: TaskStep): Promise<{ exitCode: number | null; stdout: string; stderr: string; value?: unknown; hasValue: boolean }> {
    switch (step.kind) {
      case 'sendFile': {
        const target = await this.runtime.sendFile(step.localPath, step.remotePath);
        return { exitCode: 0, stdout: `sent to ${target}\n`, stderr: '', hasValue: false };
      }
      case 'getFile': {
        const target = await this.runtime.getFile(step.remotePath, step.localPath);
        return { exitCode: 0, stdout: `received to ${target}\n`, stderr: '', hasValue: false };
      }
      case 'runCommand':
        return { ...(await this.#command(step.command, step.options)), hasValue: false };
      case 'runFunction':
      case 'runPython': {
        const marker = `@@lazycluster-result-${randomBytes(8).toString('hex')}@@`;
        const argv = step.kind === 'runFunction'
          ? ['node', '-e', nodeWrapper(step.source, step.name, marker), JSON.stringify(step.args)]
          : ['python3', '-c', pythonWrapper(marker), step.source, JSON.stringify(step.args), this.task.name];
        const result = await this.#command(argv, {});
        return { ...splitResult(result.stdout, marker), exitCode: result.exitCode, stderr: result.stderr };
      }
    }
  }

  async #command(command: string | readonly string[], options: { cwd?: string; env?: Readonly<Record<string, string>> }): Promise<{ exitCode: number | null; stdout: string; stderr: string }> {
    const proc = await this.runtime.spawn(command, options);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    proc.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    proc.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    if (this.options.debug === true) {
      const out = this.options.output ?? process.stdout;
      prefixLines(proc.stdout, `[${this.host}] `, out);
      prefixLines(proc.stderr, `[${this.host}] `, out);
    }
    // The exit can be reported before the last output has been delivered: wait for both.
    const [exitCode] = await Promise.all([proc.exited, endOf(proc.stdout), endOf(proc.stderr)]);
    return { exitCode, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') };
  }
}

// The wrappers receive user code and arguments as separate argv entries, so nothing the
// user wrote is ever pasted into a command line.
function nodeWrapper(source: string, name: string, marker: string): string {
  // Method shorthand (`f() {}`) is not an expression on its own.
  const isShorthand = !/^(async\s+)?(function\b|\(|[\w$]+\s*=>)/.test(source.trim());
  const expression = isShorthand ? `({ ${source} })[${JSON.stringify(name)}]` : `(${source})`;
  return [
    `const fn = ${expression};`,
    'const args = JSON.parse(process.argv[1]);',
    'Promise.resolve().then(() => fn(...args)).then(',
    `  (value) => process.stdout.write('\\n' + ${JSON.stringify(marker)} + JSON.stringify(value === undefined ? null : value) + '\\n'),`,
    '  (error) => { process.stderr.write(String(error && error.stack || error) + "\\n"); process.exitCode = 1; });',
  ].join('\n');
}

function pythonWrapper(marker: string): string {
  return [
    'import json, sys',
    'namespace = {"__name__": "__lazycluster_task__"}',
    'exec(compile(sys.argv[1], "<task " + sys.argv[3] + ">", "exec"), namespace)',
    'if "main" not in namespace: sys.exit("runPython: the source defines no main(**args) function")',
    'value = namespace["main"](**json.loads(sys.argv[2]))',
    'sys.stdout.flush()',
    `sys.stdout.write("\\n" + ${JSON.stringify(marker)} + json.dumps(value) + "\\n")`,
  ].join('\n');
}

function splitResult(stdout: string, marker: string): { stdout: string; value?: unknown; hasValue: boolean } {
  const at = stdout.lastIndexOf(`\n${marker}`);
  if (at < 0) return { stdout, hasValue: false };
  const line = stdout.slice(at + 1 + marker.length).split('\n')[0] ?? 'null';
  return { stdout: stdout.slice(0, at), value: JSON.parse(line) as unknown, hasValue: true };
}

async function endOf(stream: Readable): Promise<void> {
  if (stream.readableEnded || stream.destroyed) return;
  await new Promise<void>((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
  });
}

function prefixLines(stream: Readable, prefix: string, out: NodeJS.WritableStream): void {
  let partial = '';
  stream.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) out.write(`${prefix}${line}\n`);
  });
  stream.on('end', () => {
    if (partial !== '') out.write(`${prefix}${partial}\n`);
  });
}

function formatEntry(entry: ExecutionLogEntry): string {
  return [
    `## step ${entry.step + 1}: ${entry.description}`,
    `started ${entry.startedAt.toISOString()}, ${Math.round(entry.durationMs)} ms, ${entry.ok ? 'ok' : `failed (exit ${entry.exitCode})`}`,
    entry.stdout === '' ? '' : `--- stdout\n${entry.stdout.trimEnd()}`,
    entry.stderr === '' ? '' : `--- stderr\n${entry.stderr.trimEnd()}`,
    '',
  ].filter((line, i, all) => line !== '' || i === all.length - 1).join('\n') + '\n';
}

function safeFileName(name: string): string {
  return name.replace(/[^\w.-]+/g, '_').replace(/^\.+/, '_').slice(0, 100) || '_';
}
