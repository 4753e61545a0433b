import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { quoteShellArg, shellCommand } from './shell-quote.js';

// printf '%s\0' prints each argument NUL-terminated: exactly what the shell passed on.
function throughShell(args: string[]): string[] {
  const out = execFileSync('/bin/sh', ['-c', `printf '%s\\0' ${args.map(quoteShellArg).join(' ')}`]);
  return out.toString('utf8').split('\0').slice(0, -1);
}

describe('quoteShellArg', () => {
  it('leaves plain words alone', () => {
    expect(quoteShellArg('dask-worker')).toBe('dask-worker');
    expect(quoteShellArg('/usr/bin/python3')).toBe('/usr/bin/python3');
  });

  it('quotes the empty string so it stays an argument', () => {
    expect(throughShell(['', 'x'])).toEqual(['', 'x']);
  });

  it('passes hostile values through sh intact and unexecuted', () => {
    const hostile = ["it's", '$(touch /nonexistent)', '`id`', 'a b\nc', '; rm -rf /', '*', '~', '"$HOME"', '-n', '\\'];
    expect(throughShell(hostile)).toEqual(hostile);
  });

  it('refuses NUL bytes', () => {
    expect(() => quoteShellArg('a\0b')).toThrow(TypeError);
  });

  it('round-trips any string without NUL (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme' }).filter((s) => !s.includes('\0')), { minLength: 1, maxLength: 5 }), (args) => {
        expect(throughShell(args)).toEqual(args);
      }),
      { numRuns: 200 },
    );
  });
});

describe('shellCommand', () => {
  it('joins quoted arguments', () => {
    expect(shellCommand(['echo', 'a b', '$x'])).toBe("echo 'a b' '$x'");
  });

  it('refuses an empty argument vector', () => {
    expect(() => shellCommand([])).toThrow(TypeError);
  });
});
