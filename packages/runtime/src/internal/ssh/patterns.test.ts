import { describe, expect, it } from 'vitest';
import { hasWildcard, matchPattern, matchPatternList } from './patterns.js';

describe('matchPattern', () => {
  it.each([
    ['host', 'host', true],
    ['host', 'hos', false],
    ['host', 'h*', true],
    ['host', '*', true],
    ['', '*', true],
    ['', '?', false],
    ['h', '?', true],
    ['hh', '?', false],
    ['node1', 'node?', true],
    ['node', 'node?', false],
    ['a.b.c', '*.c', true],
    ['a.b.c', '*.b', false],
    ['abcabd', '*ab?', true],
    ['x.lab', '*.*', true],
    ['h+1', 'h+1', true],
    ['h.1', 'h+1', false],
    ['(x)', '(x)', true],
  ])('%j against %j is %s', (text, pattern, expected) => {
    expect(matchPattern(text, pattern)).toBe(expected);
  });

  it('stays fast on patterns that make a translated RegExp backtrack', () => {
    const text = 'a'.repeat(5000);
    const start = performance.now();
    expect(matchPattern(text, '*a*a*a*a*a*a*a*b')).toBe(false);
    expect(performance.now() - start).toBeLessThan(500);
  });
});

describe('matchPatternList', () => {
  it('fails the whole list when a negated entry matches', () => {
    expect(matchPatternList('web-secret', ['web-*', '!web-secret'])).toBe('negated');
    expect(matchPatternList('web-1', ['web-*', '!web-secret'])).toBe('match');
    expect(matchPatternList('db', ['web-*', '!web-secret'])).toBe('none');
    expect(matchPatternList('db', ['!web-secret'])).toBe('none');
  });

  it('compares case-sensitively unless asked not to', () => {
    expect(matchPatternList('Box', ['box'])).toBe('none');
    expect(matchPatternList('Box', ['b?X'], { ignoreCase: true })).toBe('match');
  });
});

describe('hasWildcard', () => {
  it('spots * and ?', () => {
    expect(hasWildcard('a*')).toBe(true);
    expect(hasWildcard('a?')).toBe(true);
    expect(hasWildcard('a.b')).toBe(false);
  });
});
