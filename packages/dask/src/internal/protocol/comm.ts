// One TCP connection to a Dask server, after the handshake (comm/core.py `connect`): the
// server writes its handshake first, then the client answers with its own.
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';

import { DaskConnectionError, DaskProtocolError } from '../../client/errors.js';
import { DEFAULT_MAX_MESSAGE_BYTES, FrameDecoder, encodeFrames } from './framing.js';
import { decodeMessage, encodeMessage, isWireMap } from './messages.js';
import type { OutgoingValue, WireValue } from './messages.js';

/** Where to connect; `address` (`tcp://host:port`) is what error messages name. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly address: string;
}

// A handshake is a few dozen bytes; anything bigger before it means a foreign protocol.
const MAX_HANDSHAKE_BYTES = 64 * 1024;
const GRACEFUL_CLOSE_MS = 1000;

/** A handshaken comm: write messages, read them one at a time in order. */
export class Comm {
  private readonly decoder = new FrameDecoder(MAX_HANDSHAKE_BYTES);
  private readonly inbox: WireValue[] = [];
  private waiter: { resolve: (value: WireValue) => void; reject: (error: Error) => void } | undefined;
  private failure: Error | undefined;
  private readonly closedPromise: Promise<void>;

  private constructor(
    private readonly socket: Socket,
    readonly endpoint: Endpoint,
  ) {
    this.closedPromise = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      this.fail(
        new DaskConnectionError(
          endpoint.address,
          `The connection to the Dask scheduler at ${endpoint.address} failed (${error.code ?? error.message}). ` +
            'Check that the scheduler is running and that host and port are right.',
          { cause: error },
        ),
      );
    });
    socket.on('close', () => {
      this.fail(
        new DaskConnectionError(
          endpoint.address,
          `The Dask scheduler at ${endpoint.address} closed the connection. Check that it is still running (its log says why it stopped).`,
        ),
      );
    });
  }

  /**
   * Connects and performs the handshake. Rejects with `signal.reason` when aborted,
   * `DaskConnectionError` when the connection fails, `DaskProtocolError` when the peer is not Dask.
   */
  static async open(endpoint: Endpoint, signal: AbortSignal): Promise<Comm> {
    signal.throwIfAborted();
    const socket = netConnect({ host: endpoint.host, port: endpoint.port, noDelay: true });
    const comm = new Comm(socket, endpoint);
    try {
      await abortable(
        new Promise<void>((resolve, reject) => {
          socket.once('connect', resolve);
          socket.once('close', () => reject(comm.failure ?? new Error('socket closed')));
        }),
        signal,
      );
      const handshake = await comm.read(signal);
      if (!isWireMap(handshake) || !('compression' in handshake) || !('pickle-protocol' in handshake)) {
        throw new DaskProtocolError(
          `${endpoint.address} answered, but not with a Dask handshake: is it really a Dask scheduler's port?`,
          { address: endpoint.address },
        );
      }
      comm.decoder.maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES;
      // Compression null: the server then never compresses what it sends us (we could not
      // decompress lz4/snappy). The other fields mirror the server's so it sees a peer like itself.
      comm.write({
        compression: null,
        python: toOutgoing(handshake.python),
        'pickle-protocol': toOutgoing(handshake['pickle-protocol']),
      });
      return comm;
    } catch (error) {
      comm.destroy();
      throw error;
    }
  }

  get isClosed(): boolean {
    return this.failure !== undefined;
  }

  /** Resolves once the socket is fully closed. */
  get closed(): Promise<void> {
    return this.closedPromise;
  }

  write(message: OutgoingValue): void {
    if (this.failure !== undefined) throw this.failure;
    this.socket.write(encodeFrames(encodeMessage(message)));
  }

  /** The next message. One reader at a time, as a Dask comm allows. */
  read(signal: AbortSignal): Promise<WireValue> {
    const next = this.inbox.shift();
    if (next !== undefined) return Promise.resolve(next);
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.waiter !== undefined) return Promise.reject(new Error('Comm.read called while another read is pending'));
    return abortable(
      new Promise<WireValue>((resolve, reject) => {
        this.waiter = { resolve, reject };
      }),
      signal,
      () => {
        this.waiter = undefined;
      },
    );
  }

  /** Keeps the process alive while this comm is in use, or not while it idles in a pool. */
  setActive(active: boolean): void {
    if (active) this.socket.ref();
    else this.socket.unref();
  }

  /** Tells the server we are done (op `close`, as Dask's rpc does), then waits for the socket to close. */
  async close(): Promise<void> {
    if (this.failure === undefined) {
      try {
        this.write({ op: 'close', reply: false });
      } catch {
        // Already failing: destroying is all that is left.
      }
      this.socket.end();
      const timer = setTimeout(() => this.destroy(), GRACEFUL_CLOSE_MS);
      timer.unref();
      await this.closedPromise;
      clearTimeout(timer);
    }
    this.destroy();
  }

  destroy(): void {
    this.socket.destroy();
    this.fail(
      new DaskConnectionError(this.endpoint.address, `The connection to the Dask scheduler at ${this.endpoint.address} was closed by this client.`),
    );
  }

  private receive(chunk: Buffer): void {
    try {
      for (const frames of this.decoder.push(chunk)) this.deliver(decodeMessage(frames));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.fail(
        new DaskProtocolError(`${this.endpoint.address} sent data that is not a Dask message: ${reason}`, {
          address: this.endpoint.address,
          cause: error,
        }),
      );
      this.socket.destroy();
    }
  }

  private deliver(message: WireValue): void {
    const waiter = this.waiter;
    if (waiter === undefined) {
      this.inbox.push(message);
    } else {
      this.waiter = undefined;
      waiter.resolve(message);
    }
  }

  /** Records the first failure; later reads and writes see it. */
  private fail(error: Error): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(error);
  }
}

/** Races `promise` against `signal`, rejecting with its reason. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal, onAbort?: () => void): Promise<T> {
  if (signal.aborted) {
    onAbort?.();
    return Promise.reject(signal.reason as Error);
  }
  return new Promise<T>((resolve, reject) => {
    const abort = (): void => {
      onAbort?.();
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', abort, { once: true });
    promise
      .finally(() => {
        signal.removeEventListener('abort', abort);
      })
      .then(resolve, reject);
  });
}

function toOutgoing(value: WireValue | undefined): OutgoingValue {
  if (value === undefined) return null;
  if (Array.isArray(value)) return value.map((item: WireValue) => toOutgoing(item));
  return typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean' ? value : null;
}
