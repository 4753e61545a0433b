import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { collect, parseHostList, parseMemoryLimit, parsePort, parsePositiveInt } from '../src/lib/options.js';

describe('option parsers', () => {
  it('accepts ports 1-65535 and refuses 0, 70000 and non-numbers', () => {
    expect(parsePort('8786')).toBe(8786);
    expect(parsePort('1')).toBe(1);
    expect(parsePort('65535')).toBe(65535);
    expect(() => parsePort('0')).toThrow(InvalidArgumentError);
    expect(() => parsePort('0')).toThrow(/out of range/);
    expect(() => parsePort('70000')).toThrow(/out of range/);
    expect(() => parsePort('80a')).toThrow(/whole number/);
    expect(() => parsePort('-1')).toThrow(InvalidArgumentError);
  });

  it('accepts positive whole numbers only', () => {
    expect(parsePositiveInt('3')).toBe(3);
    for (const bad of ['0', '-2', '1.5', 'two', '', '99999999999999999999']) expect(() => parsePositiveInt(bad)).toThrow(InvalidArgumentError);
  });

  it('splits a host list and checks every entry', () => {
    expect(parseHostList('h1, h2,me@h3:2222')).toEqual(['h1', 'h2', 'me@h3:2222']);
    expect(() => parseHostList('h1,,h2')).toThrow(/separated by commas/);
    expect(() => parseHostList('h1,h1')).toThrow(/listed twice/);
  });

  it('accepts the memory limits Dask understands', () => {
    for (const good of ['auto', '0', '0.5', '4GB', '2GiB', '512 MiB', '1000000', '8g']) expect(parseMemoryLimit(good)).toBe(good);
    for (const bad of ['lots', '4 gigabytes', '-1', '']) expect(() => parseMemoryLimit(bad)).toThrow(InvalidArgumentError);
  });

  it('collects a repeated option in order', () => {
    expect(collect('b', collect('a', undefined))).toEqual(['a', 'b']);
  });
});
