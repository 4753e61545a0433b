import type { Readable } from 'node:stream';

/** Splits a byte stream into lines, keeping an unfinished last line until more arrives. */
export class LineSplitter {
  #partial = '';

  /** The complete lines in `chunk` (without their newlines). */
  push(chunk: Buffer | string): string[] {
    const text = this.#partial + (typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
    const lines = text.split('\n');
    this.#partial = lines.pop() ?? '';
    return lines.map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
  }

  /** The unfinished last line, if any, and forget it. */
  flush(): string[] {
    const rest = this.#partial;
    this.#partial = '';
    return rest === '' ? [] : [rest];
  }
}

const TAIL_LINES = 20;
const MAX_LINE = 2000;

/** Keeps the last lines written to a stream, for error messages. */
export class OutputTail {
  readonly #lines: string[] = [];
  readonly #splitter = new LineSplitter();

  push(chunk: Buffer | string): void {
    for (const line of this.#splitter.push(chunk)) this.#add(line);
  }

  /** The kept lines, the unfinished last one included. */
  text(): string {
    const partial = this.#splitter.flush();
    for (const line of partial) this.#add(line);
    return this.#lines.join('\n');
  }

  #add(line: string): void {
    this.#lines.push(line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}...` : line);
    if (this.#lines.length > TAIL_LINES) this.#lines.shift();
  }
}

/** The output kept of one process. */
export interface CapturedOutput {
  readonly stdout: OutputTail;
  readonly stderr: OutputTail;
}

/**
 * Reads both output streams of a process for as long as it runs, keeping their tails and,
 * with `echo`, writing every line to `echo.out` behind `echo.prefix`.
 *
 * NOTE: the streams must always be read: a process nobody reads would otherwise buffer all
 * of its output in the manager's memory.
 */
export function captureOutput(
  streams: { readonly stdout: Readable; readonly stderr: Readable },
  echo?: { readonly out: NodeJS.WritableStream; readonly prefix: string },
): CapturedOutput {
  const captured = { stdout: new OutputTail(), stderr: new OutputTail() };
  for (const name of ['stdout', 'stderr'] as const) {
    const stream = streams[name];
    const tail = captured[name];
    const splitter = new LineSplitter();
    const write = (lines: string[]): void => {
      if (echo === undefined) return;
      for (const line of lines) echo.out.write(`${echo.prefix}${line}\n`);
    };
    stream.on('data', (chunk: Buffer | string) => {
      tail.push(chunk);
      write(splitter.push(chunk));
    });
    stream.once('end', () => write(splitter.flush()));
    stream.on('error', () => undefined);
  }
  return captured;
}

/** Resolves once both output streams have ended (or been destroyed). */
export async function outputEnded(streams: { readonly stdout: Readable; readonly stderr: Readable }): Promise<void> {
  await Promise.all([streamEnded(streams.stdout), streamEnded(streams.stderr)]);
}

async function streamEnded(stream: Readable): Promise<void> {
  if (stream.readableEnded || stream.destroyed) return;
  await new Promise<void>((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
  });
}
