import { StringDecoder } from 'node:string_decoder';

/**
 * Cuts a byte stream into lines and writes each one with a prefix, as soon as it is complete.
 * UTF-8 characters split across chunks are decoded correctly; a last line without a newline
 * is written by {@link end} with one added.
 */
export class LinePrefixer {
  readonly #decoder = new StringDecoder('utf8');
  readonly #prefix: string;
  readonly #write: (text: string) => void;
  #partial = '';

  constructor(prefix: string, write: (text: string) => void) {
    this.#prefix = prefix;
    this.#write = write;
  }

  push(chunk: Buffer | string): void {
    const text = this.#partial + (typeof chunk === 'string' ? chunk : this.#decoder.write(chunk));
    const lastNewline = text.lastIndexOf('\n');
    if (lastNewline < 0) {
      this.#partial = text;
      return;
    }
    this.#partial = text.slice(lastNewline + 1);
    const lines = text.slice(0, lastNewline).split('\n');
    this.#write(lines.map((line) => `${this.#prefix}${line}\n`).join(''));
  }

  /** Writes what is left of an unfinished last line. */
  end(): void {
    const rest = this.#partial + this.#decoder.end();
    this.#partial = '';
    if (rest !== '') this.#write(`${this.#prefix}${rest}\n`);
  }
}
