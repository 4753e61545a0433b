import type { Command, CommandOptions } from './runtime.js';

/** Any JSON value: what function arguments and return values may be. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** One step of a {@link RuntimeTask}. */
export type TaskStep =
  | { readonly kind: 'sendFile'; readonly localPath: string; readonly remotePath?: string }
  | { readonly kind: 'getFile'; readonly remotePath: string; readonly localPath?: string }
  | { readonly kind: 'runCommand'; readonly command: Command; readonly options: CommandOptions }
  | { readonly kind: 'runFunction'; readonly name: string; readonly source: string; readonly args: readonly JsonValue[] }
  | { readonly kind: 'runPython'; readonly source: string; readonly args: Readonly<Record<string, JsonValue>> };

/** A short human description of a step, for logs and errors. */
export function describeStep(step: TaskStep): string {
  switch (step.kind) {
    case 'sendFile':
      return `sendFile ${step.localPath}${step.remotePath === undefined ? '' : ` -> ${step.remotePath}`}`;
    case 'getFile':
      return `getFile ${step.remotePath}${step.localPath === undefined ? '' : ` -> ${step.localPath}`}`;
    case 'runCommand':
      return `runCommand ${typeof step.command === 'string' ? step.command : step.command.join(' ')}`;
    case 'runFunction':
      return `runFunction ${step.name || '(anonymous)'}`;
    case 'runPython':
      return 'runPython main(**args)';
  }
}

/**
 * A named list of steps run in order on one runtime. A failing step stops the task with
 * `TaskExecutionError`.
 *
 * @example
 * const task = new RuntimeTask('square')
 *   .sendFile('data.csv')
 *   .runPython('def main(path):\n    return sum(1 for _ in open(path))', { path: 'data.csv' });
 * await runtime.executeTask(task);
 * task.functionReturns; // [lines]
 */
export class RuntimeTask {
  readonly name: string;
  readonly #steps: TaskStep[] = [];
  /** @internal */
  readonly returns: unknown[] = [];

  constructor(name: string) {
    if (typeof name !== 'string' || name.trim() === '') throw new TypeError('A task needs a non-empty name.');
    if (name.includes('\0')) throw new TypeError('A task name cannot contain a NUL byte.');
    this.name = name;
  }

  get steps(): readonly TaskStep[] {
    return this.#steps;
  }

  /** Values returned by `runFunction`/`runPython` steps, in the order they finished, across every run of this task. */
  get functionReturns(): readonly unknown[] {
    return this.returns;
  }

  /** Copy a local file or directory to the runtime (relative remote paths: the working directory). */
  sendFile(localPath: string, remotePath?: string): this {
    this.#steps.push(remotePath === undefined ? { kind: 'sendFile', localPath } : { kind: 'sendFile', localPath, remotePath });
    return this;
  }

  /** Copy a file or directory from the runtime to the manager. */
  getFile(remotePath: string, localPath?: string): this {
    this.#steps.push(localPath === undefined ? { kind: 'getFile', remotePath } : { kind: 'getFile', remotePath, localPath });
    return this;
  }

  /** Run a shell command (a string) or an argument vector (no shell) on the runtime. */
  runCommand(command: Command, options: CommandOptions = {}): this {
    this.#steps.push({ kind: 'runCommand', command, options });
    return this;
  }

  /**
   * Run a self-contained JavaScript function with the runtime's `node`. It sees only its
   * arguments (as JSON) and Node's globals; its (awaited) return value travels back as JSON.
   */
  runFunction<A extends JsonValue[]>(fn: (...args: A) => unknown, ...args: A): this {
    if (typeof fn !== 'function') throw new TypeError('runFunction needs a function.');
    this.#steps.push({ kind: 'runFunction', name: fn.name, source: fn.toString(), args: structuredClone(args) });
    return this;
  }

  /** Run Python source that defines `main(**args)` with the runtime's `python3`; its return value travels back as JSON. */
  runPython(source: string, args: Readonly<Record<string, JsonValue>> = {}): this {
    if (typeof source !== 'string') throw new TypeError('runPython needs Python source text.');
    this.#steps.push({ kind: 'runPython', source, args: structuredClone(args) });
    return this;
  }
}
