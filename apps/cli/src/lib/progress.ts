import { painter, type OutputStream, type Paint } from './output.js';

/** Where one line of progress stands. */
export type StepState = 'pending' | 'active' | 'done' | 'failed';

interface Line {
  state: StepState;
  text: string;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const FRAME_MS = 100;

/** Options of {@link HostProgress}. */
export interface HostProgressOptions {
  /** Redraw lines in place (a terminal) rather than print plain lines. */
  readonly interactive: boolean;
  readonly color: boolean;
  /** Lines to show from the start, in this order, as pending. */
  readonly hosts?: readonly string[] | undefined;
}

/**
 * Progress of long work, one line per host (or per step name). On a terminal the lines are
 * redrawn in place with ANSI cursor movement and a spinner; otherwise each change is printed
 * once as a plain `host: text` line, which reads well in logs and CI.
 */
export class HostProgress {
  readonly #stream: OutputStream;
  readonly #interactive: boolean;
  readonly #paint: Paint;
  readonly #lines = new Map<string, Line>();
  #drawn = 0;
  #frame = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(stream: OutputStream, options: HostProgressOptions) {
    this.#stream = stream;
    this.#interactive = options.interactive;
    this.#paint = painter(options.color);
    for (const host of options.hosts ?? []) this.#lines.set(host, { state: 'pending', text: 'waiting' });
    if (this.#interactive && this.#lines.size > 0) this.#draw();
  }

  /** Sets the line of `host`; a new host gets a new line at the bottom. */
  update(host: string, state: StepState, text: string): void {
    if (this.#stopped) return;
    const line = this.#lines.get(host);
    if (line !== undefined && line.state === state && line.text === text) return;
    this.#lines.set(host, { state, text });
    if (this.#interactive) {
      this.#draw();
      this.#spin();
    } else {
      this.#stream.write(`${host}: ${text}\n`);
    }
  }

  /** Prints a message (a warning, a log line) above the progress lines. */
  print(message: string): void {
    if (!this.#interactive || this.#stopped) {
      this.#stream.write(`${message}\n`);
      return;
    }
    this.#clear();
    this.#stream.write(`${message}\n`);
    this.#draw();
  }

  /** Draws the lines one last time and stops redrawing. With `clear`, removes them instead. */
  stop(options: { clear?: boolean } = {}): void {
    if (this.#stopped) return;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#interactive) {
      if (options.clear === true) this.#clear();
      else this.#draw();
    }
    this.#stopped = true;
  }

  #spin(): void {
    const active = [...this.#lines.values()].some((line) => line.state === 'active');
    if (active && this.#timer === undefined) {
      this.#timer = setInterval(() => {
        this.#frame = (this.#frame + 1) % FRAMES.length;
        this.#draw();
      }, FRAME_MS);
      // The spinner alone must never keep the process alive.
      this.#timer.unref();
    } else if (!active && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  #clear(): void {
    if (this.#drawn === 0) return;
    this.#stream.write(`\u001b[${this.#drawn}A\u001b[0J`);
    this.#drawn = 0;
  }

  #draw(): void {
    const columns = this.#stream.columns;
    // Lines must never wrap, or moving the cursor up would land on the wrong line.
    const width = Math.max(20, (columns !== undefined && columns > 0 ? columns : 80) - 1);
    const nameWidth = Math.max(...[...this.#lines.keys()].map((host) => host.length));
    let out = this.#drawn > 0 ? `\u001b[${this.#drawn}A` : '';
    for (const [host, line] of this.#lines) {
      const plain = `${host.padEnd(nameWidth)}  ${line.text}`;
      const fitted = plain.length > width - 2 ? `${plain.slice(0, width - 3)}…` : plain;
      out += `\r\u001b[2K${this.#icon(line.state)} ${fitted}\n`;
    }
    this.#stream.write(out);
    this.#drawn = this.#lines.size;
  }

  #icon(state: StepState): string {
    switch (state) {
      case 'pending':
        return this.#paint('dim', '·');
      case 'active':
        return this.#paint('cyan', FRAMES[this.#frame] ?? '-');
      case 'done':
        return this.#paint('green', '✓');
      case 'failed':
        return this.#paint('red', '✗');
    }
  }
}
