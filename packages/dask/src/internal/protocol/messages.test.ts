import { encode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';

import { DaskProtocolError } from '../../client/errors.js';
import { FrameDecoder } from './framing.js';
import { OpaquePayload, decodeMessage, encodeMessage } from './messages.js';

const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));
/** The frames of one wire message written by Python. */
const framesOf = (wire: string): Uint8Array[] => {
  const messages = new FrameDecoder().push(hex(wire));
  expect(messages).toHaveLength(1);
  return messages[0]!;
};

// Written by distributed 2022.12.1 (protocol.dumps + TCP framing) on this machine:
// {'v': to_serialize('hello')} with serializers=['msgpack']
const SERIALIZED_MSGPACK =
  '9300000000000000030000000000000014000000000000005900000000000000060000000000000081a17681ae5f5f53657269616c697a65645f5f0185aa73657269616c697a6572a76d73677061636bb473706c69742d6e756d2d7375622d6672616d65739101ad73706c69742d6f6666736574739100ab636f6d7072657373696f6e91c0ae6e756d2d7375622d6672616d657301a568656c6c6f';
// {'result': ToPickle(b'xxx')}
const PICKLED =
  '6c00000000000000020000000000000016000000000000003e0000000000000081a6726573756c7481ab5f5f5069636b6c65645f5f0183ab7069636b6c65642d6f626ac41280059507000000000000004303787878942eab636f6d7072657373696f6e90ae6e756d2d7375622d6672616d657300';
// {'s': {1}}
const SET = '27000000000000000100000000000000170000000000000081a17382a75f5f5365745f5fc3a761732d6c6973749101';
// {'status': 'OK', 'data': to_serialize({'a': [1, 2]})}: a collection, serialized element-wise.
const SERIALIZED_COLLECTION =
  '460100000000000004000000000000002100000000000000fb000000000000000100000000000000010000000000000082a6737461747573a24f4ba46461746181ae5f5f53657269616c697a65645f5f0188ab7375622d686561646572739185ab7375622d686561646572739281aa73657269616c697a6572a76d73677061636b81aa73657269616c697a6572a76d73677061636bad69732d636f6c6c656374696f6ec3ad6672616d652d6c656e67746873920101af747970652d73657269616c697a6564a46c697374a36b6579a161ad69732d636f6c6c656374696f6ec3ad6672616d652d6c656e677468739102af747970652d73657269616c697a6564a464696374b473706c69742d6e756d2d7375622d6672616d6573920101ad73706c69742d6f666673657473920001ab636f6d7072657373696f6e92c0c0ae6e756d2d7375622d6672616d6573020102';

describe('encodeMessage', () => {
  it('encodes a request as the one msgpack frame Python writes for it', () => {
    // protocol.dumps({'op': 'identity', 'reply': True}) == [b'\x82\xa2op\xa8identity\xa5reply\xc3']
    expect(encodeMessage({ op: 'identity', reply: true })).toEqual([hex('82a26f70a86964656e74697479a57265706c79c3')]);
  });

  it('round-trips plain values, bytes included', () => {
    const message = { op: 'x', n: [1, -2, 3.5, 2 ** 40], none: null, ok: false, raw: Uint8Array.from([0, 255]), nested: { a: 'é' } };
    expect(decodeMessage(encodeMessage(message))).toEqual(message);
  });
});

describe('decodeMessage', () => {
  it('decodes a msgpack-serialized value from its sub-frames', () => {
    expect(decodeMessage(framesOf(SERIALIZED_MSGPACK))).toEqual({ v: 'hello' });
  });

  it('joins a msgpack payload split into several sub-frames', () => {
    const payload = encode({ big: 'x'.repeat(20) });
    const header = encode({ serializer: 'msgpack', compression: [null, null], 'num-sub-frames': 2 });
    const frames = [encode({ v: { __Serialized__: 1 } }), header, payload.subarray(0, 7), payload.subarray(7)];
    expect(decodeMessage(frames)).toEqual({ v: { big: 'x'.repeat(20) } });
  });

  it('never unpickles: a pickled value becomes an opaque marker with its size', () => {
    const decoded = decodeMessage(framesOf(PICKLED)) as { result: unknown };
    expect(decoded.result).toEqual(new OpaquePayload('pickled', 'pickle', 18));
  });

  it('leaves a payload it cannot decode without pickle opaque', () => {
    const decoded = decodeMessage(framesOf(SERIALIZED_COLLECTION)) as { status: unknown; data: unknown };
    expect(decoded.status).toBe('OK');
    expect(decoded.data).toBeInstanceOf(OpaquePayload);
    expect(decoded.data).toMatchObject({ kind: 'serialized', serializer: null, byteLength: 2 });
  });

  it('leaves a compressed msgpack payload opaque', () => {
    const header = encode({ serializer: 'msgpack', compression: ['lz4'], 'num-sub-frames': 1 });
    const decoded = decodeMessage([encode({ v: { __Serialized__: 1 } }), header, Uint8Array.from([1, 2, 3])]);
    expect(decoded).toEqual({ v: new OpaquePayload('serialized', 'msgpack', 3) });
  });

  it('turns a set into an array', () => {
    expect(decodeMessage(framesOf(SET))).toEqual({ s: [1] });
  });

  it('turns an enum into its member name', () => {
    const frame = encode({ status: { __Enum__: true, name: 'running', __module__: 'distributed.core', __name__: 'Status' } });
    expect(decodeMessage([frame])).toEqual({ status: 'running' });
  });

  it('keeps a map with a tuple key, the key as JSON', () => {
    // msgpack {('x', 0): 1}: a map whose key is the array ['x', 0]
    expect(decodeMessage([hex('8192a17800' + '01')])).toEqual({ '["x",0]': 1 });
  });

  it('decodes the error reply of a failed handler, leaving the pickled exception opaque', () => {
    const frames = [
      encode({ status: 'uncaught-error', exception: { __Serialized__: 1 }, traceback: null, exception_text: "TypeError('no')" }),
      encode({ serializer: 'dask', type: 'bytes', compression: [null], 'num-sub-frames': 1 }),
      Uint8Array.from([0x80, 0x05]),
    ];
    expect(decodeMessage(frames)).toEqual({
      status: 'uncaught-error',
      exception: new OpaquePayload('serialized', 'dask', 2),
      traceback: null,
      exception_text: "TypeError('no')",
    });
  });

  it('rejects a reference to a frame the message does not have', () => {
    expect(() => decodeMessage([encode({ v: { __Serialized__: 3 } })])).toThrow(/refers to frame 3/);
  });

  it('rejects a sub-header announcing more frames than follow', () => {
    const header = encode({ serializer: 'msgpack', 'num-sub-frames': 2 });
    expect(() => decodeMessage([encode({ v: { __Serialized__: 1 } }), header])).toThrow(/not a valid sub-header/);
  });

  it('rejects a frame that is not msgpack', () => {
    expect(() => decodeMessage([Uint8Array.from([0xc1])])).toThrow(DaskProtocolError);
  });

  it('rejects a message without frames', () => {
    expect(() => decodeMessage([])).toThrow(/no frames/);
  });
});
