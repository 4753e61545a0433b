// The message layer of distributed 2022.12.1 (protocol/core.py dumps/loads).
// Frame 0 is msgpack (bin type for bytes). A value msgpack could not carry is sent out of band:
//   {"__Serialized__": i}  frame i = msgpack sub-header (serializer, compression,
//                          num-sub-frames, ...), then num-sub-frames payload frames
//   {"__Pickled__": i}     frame i = msgpack {"pickled-obj": bytes, "num-sub-frames": n}, then n buffers
// and msgpack_encode_default turns sets into {"__Set__": true, "as-list": [...]} and enums into
// {"__Enum__": true, "name": ...}. We decode msgpack payloads and never unpickle: anything else
// becomes an OpaquePayload marker.
import { Decoder, ExtData, encode } from '@msgpack/msgpack';

import { DaskProtocolError } from '../../client/errors.js';

/** A value that is not msgpack (pickle, a compressed or custom serializer), left undecoded. */
export class OpaquePayload {
  constructor(
    readonly kind: 'pickled' | 'serialized',
    /** The serializer named by the sub-header (`pickle`, `dask`, ...), `pickle` for pickled values. */
    readonly serializer: string | null,
    readonly byteLength: number,
  ) {}
}

/** A decoded message value. */
export type WireValue = null | boolean | number | string | Uint8Array | OpaquePayload | readonly WireValue[] | WireMap;
export interface WireMap {
  readonly [key: string]: WireValue;
}

/** A value this client sends: plain msgpack data, never an opaque payload. */
export type OutgoingValue = null | boolean | number | string | Uint8Array | readonly OutgoingValue[] | OutgoingMap;
export interface OutgoingMap {
  readonly [key: string]: OutgoingValue;
}

// Python dict keys may be tuples (task keys) or other non-string values; JS object keys cannot.
// They become their JSON text rather than failing the whole message.
const decoder = new Decoder({
  mapKeyConverter: (key: unknown): string | number =>
    typeof key === 'string' || typeof key === 'number' ? key : JSON.stringify(key),
});

/** Encodes a message into its frames (just frame 0: this client never sends out-of-band data). */
export function encodeMessage(message: OutgoingValue): Uint8Array[] {
  return [encode(message)];
}

/** Decodes the frames of one message. Throws `DaskProtocolError` on malformed frames. */
export function decodeMessage(frames: readonly Uint8Array[]): WireValue {
  const first = frames[0];
  if (first === undefined) throw new DaskProtocolError('a message arrived with no frames');
  return resolve(decodeMsgpack(first, 'frame 0'), { frames });
}

export function isWireMap(value: WireValue | undefined): value is WireMap {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Uint8Array) &&
    !(value instanceof OpaquePayload)
  );
}

function decodeMsgpack(bytes: Uint8Array, what: string): unknown {
  try {
    return decoder.decode(bytes);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new DaskProtocolError(`${what} of a message is not valid msgpack: ${reason}`, { cause: error });
  }
}

/**
 * Which of Dask's markers to replace, as the Python side would: frame 0 gets every marker
 * (`frames` given), a sub-header only sets and enums (`frames: null`), and a msgpack payload
 * none at all (`raw`), since Python's `msgpack_loads` applies no hook.
 */
type Markers = { readonly frames: readonly Uint8Array[] | null } | 'raw';

/** Checks what msgpack produced and replaces Dask's markers (protocol/core.py `loads`). */
function resolve(value: unknown, markers: Markers): WireValue {
  if (value === null || typeof value === 'boolean' || typeof value === 'number' || typeof value === 'string') return value;
  if (value instanceof Uint8Array) return value;
  if (Array.isArray(value)) return value.map((item: unknown) => resolve(item, markers));
  // Python's msgpack sends no extension types here (no datetime=True, no ExtType), but the JS
  // decoder would yield a Date or ExtData for one: keep them out of the value type.
  if (typeof value !== 'object' || value instanceof Date || value instanceof ExtData) {
    return new OpaquePayload('serialized', null, 0);
  }
  const map = value as Record<string, unknown>;
  if (markers !== 'raw') {
    const marker = resolveMarker(map, markers.frames);
    if (marker !== undefined) return marker;
  }
  const out: Record<string, WireValue> = {};
  for (const [key, item] of Object.entries(map)) out[key] = resolve(item, markers);
  return out;
}

function resolveMarker(map: Record<string, unknown>, frames: readonly Uint8Array[] | null): WireValue | undefined {
  if (map.__Set__ === true) {
    return Array.isArray(map['as-list']) ? resolve(map['as-list'], { frames }) : [];
  }
  if (map.__Enum__ === true) return typeof map.name === 'string' ? map.name : null;
  if ('__Serialized__' in map) {
    const offset = map.__Serialized__;
    // Anything but a frame offset is an in-band Serialized (header + frames inside frame 0).
    return frames !== null && isFrameOffset(offset)
      ? decodeSerialized(offset, frames)
      : new OpaquePayload('serialized', null, 0);
  }
  const pickled = map.__Pickled__;
  if (frames !== null && isFrameOffset(pickled)) return opaquePickled(pickled, frames);
  return undefined;
}

function isFrameOffset(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0;
}

function subFrames(offset: number, frames: readonly Uint8Array[]): { header: WireMap; payload: Uint8Array[] } {
  const headerFrame = frames[offset];
  if (headerFrame === undefined) {
    throw new DaskProtocolError(`a message refers to frame ${offset} but has only ${frames.length} frames`);
  }
  const header = resolve(decodeMsgpack(headerFrame, `frame ${offset}`), { frames: null });
  const count = isWireMap(header) ? header['num-sub-frames'] : undefined;
  if (!isWireMap(header) || typeof count !== 'number' || offset + 1 + count > frames.length) {
    throw new DaskProtocolError(`frame ${offset} of a message is not a valid sub-header`);
  }
  return { header, payload: frames.slice(offset + 1, offset + 1 + count) };
}

function decodeSerialized(offset: number, frames: readonly Uint8Array[]): WireValue {
  const { header, payload } = subFrames(offset, frames);
  const serializer = typeof header.serializer === 'string' ? header.serializer : null;
  const compression = header.compression;
  const uncompressed = !Array.isArray(compression) || compression.every((c: WireValue) => c === null);
  if (serializer === 'msgpack' && uncompressed) {
    // Split sub-frames of a msgpack payload are consecutive pieces of one buffer.
    return resolve(decodeMsgpack(concatAll(payload), `frame ${offset + 1}`), 'raw');
  }
  return new OpaquePayload('serialized', serializer, byteLength(payload));
}

function opaquePickled(offset: number, frames: readonly Uint8Array[]): OpaquePayload {
  const { header, payload } = subFrames(offset, frames);
  const pickle = header['pickled-obj'];
  const pickleBytes = pickle instanceof Uint8Array ? pickle.byteLength : 0;
  return new OpaquePayload('pickled', 'pickle', pickleBytes + byteLength(payload));
}

function byteLength(frames: readonly Uint8Array[]): number {
  return frames.reduce((sum, frame) => sum + frame.byteLength, 0);
}

function concatAll(frames: readonly Uint8Array[]): Uint8Array {
  if (frames.length === 1 && frames[0] !== undefined) return frames[0];
  const out = new Uint8Array(byteLength(frames));
  let offset = 0;
  for (const frame of frames) {
    out.set(frame, offset);
    offset += frame.byteLength;
  }
  return out;
}
