import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LinePrefixer } from '../src/lib/line-prefixer.js';
import { hostColor, painter, stripAnsi, useColor, type OutputStream } from '../src/lib/output.js';
import { HostProgress } from '../src/lib/progress.js';
import { formatBytes, formatTable } from '../src/lib/table.js';

/** A stream that records what is written, optionally pretending to be a terminal. */
function recorder(tty: { columns: number } | undefined): OutputStream & { text: () => string } {
  const chunks: string[] = [];
  const stream = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number };
  if (tty !== undefined) {
    stream.isTTY = true;
    stream.columns = tty.columns;
  }
  stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
  return Object.assign(stream, { text: () => chunks.join('') });
}

describe('colours', () => {
  it('are on for a terminal only, off with NO_COLOR, forced with FORCE_COLOR', () => {
    const tty = { isTTY: true } as OutputStream;
    const pipe = {} as OutputStream;
    expect(useColor(tty, {})).toBe(true);
    expect(useColor(pipe, {})).toBe(false);
    expect(useColor(tty, { NO_COLOR: '1' })).toBe(false);
    expect(useColor(tty, { NO_COLOR: '' })).toBe(true);
    expect(useColor(pipe, { FORCE_COLOR: '1' })).toBe(true);
    expect(useColor(tty, { TERM: 'dumb' })).toBe(false);
  });

  it('paint with ANSI codes when enabled and leave text alone when not', () => {
    expect(painter(true)('red', 'x')).toBe('\u001b[31mx\u001b[39m');
    expect(painter(false)('red', 'x')).toBe('x');
    expect(stripAnsi(painter(true)('bold', 'y'))).toBe('y');
  });

  it('give hosts distinct colours, never red', () => {
    const colours = [0, 1, 2, 3, 4].map(hostColor);
    expect(new Set(colours).size).toBe(5);
    expect(colours).not.toContain('red');
  });
});

describe('tables', () => {
  it('align columns by visible width and leave no trailing blanks', () => {
    const bold = painter(true);
    const lines = formatTable([
      [bold('bold', 'HOST'), 'CORES', 'GPUS'],
      ['h1', '2', '-'],
      ['long-host', '16', ''],
    ]);
    expect(lines.map(stripAnsi)).toEqual(['HOST       CORES  GPUS', 'h1         2      -', 'long-host  16']);
  });

  it('print sizes in binary units', () => {
    expect(formatBytes(25_276_203_008)).toBe('23.5 GiB');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(0)).toBe('-');
  });
});

describe('LinePrefixer', () => {
  it('prefixes whole lines, holding a partial line until it is complete or the stream ends', () => {
    const out: string[] = [];
    const prefixer = new LinePrefixer('h1 | ', (text) => out.push(text));
    prefixer.push('one\ntw');
    expect(out).toEqual(['h1 | one\n']);
    prefixer.push(Buffer.from('o\nthree'));
    prefixer.end();
    expect(out.join('')).toBe('h1 | one\nh1 | two\nh1 | three\n');
  });

  it('decodes a UTF-8 character split across chunks', () => {
    const out: string[] = [];
    const prefixer = new LinePrefixer('> ', (text) => out.push(text));
    const bytes = Buffer.from('né\n');
    prefixer.push(bytes.subarray(0, 2));
    prefixer.push(bytes.subarray(2));
    prefixer.end();
    expect(out.join('')).toBe('> né\n');
  });

  it('keeps empty lines and writes nothing at the end when the output ended with a newline', () => {
    const out: string[] = [];
    const prefixer = new LinePrefixer('> ', (text) => out.push(text));
    prefixer.push('a\n\nb\n');
    prefixer.end();
    expect(out.join('')).toBe('> a\n> \n> b\n');
  });
});

describe('HostProgress', () => {
  it('prints each change once as a plain line when not on a terminal', () => {
    const stream = recorder(undefined);
    const progress = new HostProgress(stream, { interactive: false, color: false, hosts: ['h1', 'h2'] });
    progress.update('h1', 'active', 'connecting');
    progress.update('h1', 'active', 'connecting');
    progress.update('h2', 'failed', 'refused');
    progress.print('a warning');
    progress.stop();
    expect(stream.text()).toBe('h1: connecting\nh2: refused\na warning\n');
  });

  it('redraws its lines in place on a terminal, one per host, without wrapping', () => {
    const stream = recorder({ columns: 30 });
    const progress = new HostProgress(stream, { interactive: true, color: false, hosts: ['h1', 'scheduler'] });
    progress.update('h1', 'done', 'connected and everything is fine and dandy');
    progress.stop();
    const text = stream.text();
    // First draw (2 lines), then cursor up 2 and a redraw, then the final draw.
    expect(text.startsWith('\r\u001b[2K· h1         waiting\n\r\u001b[2K· scheduler  waiting\n\u001b[2A')).toBe(true);
    const lastDraw = text.slice(text.lastIndexOf('\u001b[2A') + 4);
    expect(lastDraw).toBe('\r\u001b[2K✓ h1         connected and e…\n\r\u001b[2K· scheduler  waiting\n');
    for (const line of lastDraw.split('\n')) expect(stripAnsi(line).replace('\r', '').length).toBeLessThan(30);
  });

  it('prints messages above the lines on a terminal and redraws them below', () => {
    const stream = recorder({ columns: 80 });
    const progress = new HostProgress(stream, { interactive: true, color: false, hosts: ['h1'] });
    progress.print('hello');
    progress.stop({ clear: true });
    expect(stream.text()).toBe('\r\u001b[2K· h1  waiting\n\u001b[1A\u001b[0Jhello\n\r\u001b[2K· h1  waiting\n\u001b[1A\u001b[0J');
  });
});
