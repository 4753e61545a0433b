import { describe, expect, it } from 'vitest';
import { formatPortList, parsePortList, portRange, validatePort, validatePortList } from './port-list.js';

describe('validatePort', () => {
  it('returns a valid port unchanged, at both ends of the range', () => {
    expect(validatePort(1)).toBe(1);
    expect(validatePort(65535)).toBe(65535);
  });

  it.each([1.5, Number.NaN, '8080', null, undefined, 10n])('rejects the non-integer %s with a TypeError', (value) => {
    expect(() => validatePort(value)).toThrow(TypeError);
  });

  it.each([0, -1, 65536])('rejects %s with a RangeError naming the valid range', (value) => {
    expect(() => validatePort(value)).toThrow(new RangeError(`Port ${value} is out of range: a port must be between 1 and 65535.`));
  });
});

describe('validatePortList', () => {
  it('returns a copy in the same order', () => {
    const list = [9000, 8000, 8001];
    const checked = validatePortList(list);
    expect(checked).toEqual([9000, 8000, 8001]);
    expect(checked).not.toBe(list);
  });

  it('rejects an empty list', () => {
    expect(() => validatePortList([])).toThrow(/port list is empty/);
  });

  it('rejects something that is not an array', () => {
    expect(() => validatePortList('8000,8001')).toThrow(TypeError);
  });

  it('rejects a duplicate, naming the port and both entries', () => {
    expect(() => validatePortList([8000, 8001, 8000])).toThrow(/Port 8000 appears twice .*entries 0 and 2/);
  });

  it('rejects the whole list for one bad entry, keeping the error type and naming the entry', () => {
    expect(() => validatePortList([8000, 8000.5])).toThrow(TypeError);
    expect(() => validatePortList([8000, 70000])).toThrow(/Entry 1 of the port list is invalid/);
    expect(() => validatePortList([8000, 70000])).toThrow(RangeError);
  });
});

describe('portRange', () => {
  it('includes both ends', () => {
    expect(portRange(8000, 8003)).toEqual([8000, 8001, 8002, 8003]);
    expect(portRange(8000, 8000)).toEqual([8000]);
  });

  it('rejects a reversed range and out-of-range ends', () => {
    expect(() => portRange(8010, 8000)).toThrow(/reversed/);
    expect(() => portRange(0, 10)).toThrow(RangeError);
    expect(() => portRange(65535, 65536)).toThrow(RangeError);
  });
});

describe('parsePortList', () => {
  it('reads ports and inclusive ranges in the order given, allowing spaces', () => {
    expect(parsePortList('9000, 8000-8002 ,7000 - 7001')).toEqual([9000, 8000, 8001, 8002, 7000, 7001]);
  });

  it.each(['abc', '80.5', '8000,,8001', '8000,', '-5', '8000-'])('rejects the malformed list "%s" with a TypeError', (text) => {
    expect(() => parsePortList(text)).toThrow(TypeError);
  });

  it.each(['0', '65536', '65000-70000', '8010-8000', '', '  '])('rejects "%s" with a RangeError', (text) => {
    expect(() => parsePortList(text)).toThrow(RangeError);
  });

  it('rejects overlapping ranges as duplicates', () => {
    expect(() => parsePortList('8000-8005,8005-8010')).toThrow(/Port 8005 appears twice/);
  });
});

describe('formatPortList', () => {
  it('joins consecutive ports into ranges and round-trips through parsePortList', () => {
    const text = formatPortList([8000, 8001, 8002, 8004, 9000, 9001]);
    expect(text).toBe('8000-8002,8004,9000-9001');
    expect(parsePortList(text)).toEqual([8000, 8001, 8002, 8004, 9000, 9001]);
  });

  it('stops after the limit and says how many ports are left out', () => {
    expect(formatPortList([1, 3, 5, 6, 7, 9], 2)).toBe('1,3 and 4 more');
  });
});
