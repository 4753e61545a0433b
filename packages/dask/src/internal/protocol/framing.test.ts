import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { DaskProtocolError } from '../../client/errors.js';
import { FrameDecoder, encodeFrames } from './framing.js';

/** Little-endian u64 as 8 bytes. */
const u64 = (n: number): number[] => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >> 24) & 0xff, 0, 0, 0, 0];
const bytes = (...parts: (number[] | string)[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'latin1')] : p)));
const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));

// What distributed 2022.12.1's TCP.write put on the wire for the scheduler's handshake
// {'compression': 'lz4', 'python': (3, 11, 2), 'pickle-protocol': 5}.
const PYTHON_HANDSHAKE =
  '3d0000000000000001000000000000002d0000000000000083ab636f6d7072657373696f6ea36c7a34a6707974686f6e93030b02af7069636b6c652d70726f746f636f6c05';

describe('encodeFrames', () => {
  it('writes the total length, the frame count and each frame length as little-endian u64', () => {
    const encoded = encodeFrames([bytes('abc'), bytes(), bytes('de')]);
    expect(encoded).toEqual(bytes(u64(8 * 4 + 5), u64(3), u64(3), u64(0), u64(2), 'abc', 'de'));
  });

  it('encodes a message without frames as a count of zero', () => {
    expect(encodeFrames([])).toEqual(bytes(u64(8), u64(0)));
  });

  it('reproduces the bytes Python writes for the same frame', () => {
    const body = hex(PYTHON_HANDSHAKE).subarray(24);
    expect(Buffer.from(encodeFrames([body])).toString('hex')).toBe(PYTHON_HANDSHAKE);
  });
});

describe('FrameDecoder', () => {
  it('decodes the bytes Python wrote into their one frame', () => {
    const messages = new FrameDecoder().push(hex(PYTHON_HANDSHAKE));
    expect(messages).toHaveLength(1);
    expect(messages[0]).toHaveLength(1);
    expect(messages[0]![0]![0]).toBe(0x83); // a msgpack map of 3 entries
    expect(messages[0]![0]!.byteLength).toBe(0x2d);
  });

  it('waits for the last byte when a message arrives one byte at a time', () => {
    const decoder = new FrameDecoder();
    const wire = encodeFrames([bytes('hello'), bytes('world!')]);
    for (let i = 0; i < wire.byteLength - 1; i++) expect(decoder.push(wire.subarray(i, i + 1))).toEqual([]);
    expect(decoder.bufferedBytes).toBe(wire.byteLength - 1);
    expect(decoder.push(wire.subarray(wire.byteLength - 1))).toEqual([[bytes('hello'), bytes('world!')]]);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('returns every message of a chunk and keeps the start of the next one', () => {
    const decoder = new FrameDecoder();
    const third = encodeFrames([bytes('third')]);
    const chunk = bytes([...encodeFrames([bytes('one')])], [...encodeFrames([bytes(), bytes('two')])], [...third.subarray(0, 10)]);
    expect(decoder.push(chunk)).toEqual([[bytes('one')], [bytes(), bytes('two')]]);
    expect(decoder.push(third.subarray(10))).toEqual([[bytes('third')]]);
  });

  it('decodes any frames split into any chunks as they were encoded', () => {
    const frames = fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 5 });
    fc.assert(
      fc.property(fc.array(frames, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 10 }), (messages, cuts) => {
        const wire = bytes(...messages.map((m) => [...encodeFrames(m)]));
        const points = [...new Set(cuts.map((c) => c % (wire.byteLength + 1)))].sort((a, b) => a - b);
        const decoder = new FrameDecoder();
        const out: Uint8Array[][] = [];
        let start = 0;
        for (const point of [...points, wire.byteLength]) {
          out.push(...decoder.push(wire.subarray(start, point)));
          start = point;
        }
        expect(out).toEqual(messages);
        expect(decoder.bufferedBytes).toBe(0);
      }),
    );
  });

  it('rejects a total length too small to hold the frame count', () => {
    expect(() => new FrameDecoder().push(bytes(u64(4), [0, 0, 0, 0]))).toThrow(DaskProtocolError);
  });

  it('rejects a message larger than its limit before buffering it', () => {
    expect(() => new FrameDecoder(100).push(bytes(u64(101)))).toThrow(/outside 8\.\.100/);
  });

  it('rejects bytes from a foreign protocol at once', () => {
    // An HTTP answer read as a length is far beyond any limit.
    expect(() => new FrameDecoder().push(bytes('HTTP/1.1 400 Bad Request\r\n'))).toThrow(DaskProtocolError);
  });

  it('rejects a frame count that cannot fit in the announced length', () => {
    expect(() => new FrameDecoder().push(bytes(u64(16), u64(5)))).toThrow(/announced 5 frames/);
  });

  it('rejects frame lengths that run past the message', () => {
    expect(() => new FrameDecoder().push(bytes(u64(19), u64(1), u64(4), 'abc'))).toThrow(/runs past its end/);
  });

  it('rejects bytes left over after the last frame', () => {
    expect(() => new FrameDecoder().push(bytes(u64(20), u64(1), u64(2), 'abcd'))).toThrow(/after its last frame/);
  });
});
