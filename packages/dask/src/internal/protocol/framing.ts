// Message framing of Dask's TCP comm (distributed 2022.12.1, comm/tcp.py + protocol/utils.py).
// One message on the wire:
//   u64 total            byte count of everything that follows
//   u64 frameCount
//   u64 length[frameCount]
//   frame bytes, back to back
// Every u64 is little-endian (Python packs them with native "Q", and Dask runs on
// little-endian machines). Frame 0 is the msgpack body; further frames carry serialized
// payloads (see messages.ts).
import { DaskProtocolError } from '../../client/errors.js';

const U64 = 8;

/** Messages larger than this are refused rather than buffered. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 ** 3;

/** Packs frames into one wire message (the inverse of {@link FrameDecoder}). */
export function encodeFrames(frames: readonly Uint8Array[]): Uint8Array {
  const headerBytes = U64 * (1 + frames.length);
  const payloadBytes = frames.reduce((sum, frame) => sum + frame.byteLength, 0);
  const out = new Uint8Array(U64 + headerBytes + payloadBytes);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes + payloadBytes), true);
  view.setBigUint64(U64, BigInt(frames.length), true);
  let offset = U64 + headerBytes;
  frames.forEach((frame, i) => {
    view.setBigUint64(U64 * (2 + i), BigInt(frame.byteLength), true);
    out.set(frame, offset);
    offset += frame.byteLength;
  });
  return out;
}

/**
 * Cuts a TCP byte stream into messages, each a list of frames. Chunks may split a message
 * anywhere or hold several messages.
 */
export class FrameDecoder {
  private chunks: Uint8Array[] = [];
  private buffered = 0;

  /** Messages announcing more bytes than this are refused; a comm raises it after the handshake. */
  maxMessageBytes: number;

  constructor(maxMessageBytes: number = DEFAULT_MAX_MESSAGE_BYTES) {
    this.maxMessageBytes = maxMessageBytes;
  }

  /** Bytes received but not yet part of a complete message. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Adds a chunk; returns every message it completed, in order. Throws `DaskProtocolError`. */
  push(chunk: Uint8Array): Uint8Array[][] {
    if (chunk.byteLength > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.byteLength;
    }
    const messages: Uint8Array[][] = [];
    for (;;) {
      if (this.buffered < U64) break;
      const total = readU64(this.peek(U64), 0);
      this.checkTotal(total);
      if (this.buffered >= 2 * U64) {
        // Checked as soon as it is known, so a non-Dask peer is caught before its bytes pile up.
        this.checkFrameCount(total, readU64(this.peek(2 * U64), U64));
      }
      if (this.buffered < U64 + total) break;
      const message = this.take(U64 + total);
      messages.push(splitFrames(message.subarray(U64)));
    }
    return messages;
  }

  private checkTotal(total: number): void {
    if (total < U64 || total > this.maxMessageBytes) {
      throw new DaskProtocolError(
        `a message announced ${total} bytes, outside 8..${this.maxMessageBytes}: the peer does not speak the Dask TCP protocol`,
      );
    }
  }

  private checkFrameCount(total: number, count: number): void {
    if (U64 * (1 + count) > total) {
      throw new DaskProtocolError(
        `a message of ${total} bytes announced ${count} frames, more than fit: the peer does not speak the Dask TCP protocol`,
      );
    }
  }

  /** The first `n` buffered bytes, copied only when they span chunks. */
  private peek(n: number): Uint8Array {
    const first = this.chunks[0];
    if (first !== undefined && first.byteLength >= n) return first.subarray(0, n);
    return concat(this.chunks, n);
  }

  private take(n: number): Uint8Array {
    const first = this.chunks[0];
    let out: Uint8Array;
    if (first !== undefined && first.byteLength >= n) {
      out = first.subarray(0, n);
    } else {
      out = concat(this.chunks, n);
    }
    let remaining = n;
    while (remaining > 0) {
      const head = this.chunks[0];
      if (head === undefined) break;
      if (head.byteLength <= remaining) {
        this.chunks.shift();
        remaining -= head.byteLength;
      } else {
        this.chunks[0] = head.subarray(remaining);
        remaining = 0;
      }
    }
    this.buffered -= n;
    return out;
  }
}

/** Splits the bytes after the total-length field into frames (Dask's `unpack_frames`). */
function splitFrames(body: Uint8Array): Uint8Array[] {
  const count = readU64(body, 0);
  const headerBytes = U64 * (1 + count);
  const frames: Uint8Array[] = [];
  let offset = headerBytes;
  for (let i = 0; i < count; i++) {
    const length = readU64(body, U64 * (1 + i));
    if (offset + length > body.byteLength) {
      throw new DaskProtocolError(
        `frame ${i} of a message (${length} bytes at offset ${offset}) runs past its end (${body.byteLength} bytes)`,
      );
    }
    frames.push(body.subarray(offset, offset + length));
    offset += length;
  }
  if (offset !== body.byteLength) {
    throw new DaskProtocolError(`a message has ${body.byteLength - offset} bytes after its last frame`);
  }
  return frames;
}

function readU64(bytes: Uint8Array, offset: number): number {
  const value = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(offset, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new DaskProtocolError(`a length field holds ${value}, larger than any real message`);
  }
  return Number(value);
}

function concat(chunks: readonly Uint8Array[], n: number): Uint8Array {
  const out = new Uint8Array(n);
  let offset = 0;
  for (const chunk of chunks) {
    if (offset >= n) break;
    const part = chunk.subarray(0, n - offset);
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}
