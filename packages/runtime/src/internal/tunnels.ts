import { createServer, connect, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { PortInUseError } from '@lazycluster/ports';

/** An open port forwarding; `close()` stops listening and drops its connections. */
export interface Tunnel {
  /** Where the forwarded service is reached. */
  readonly listenPort: number;
  /** Where connections are carried to. */
  readonly targetPort: number;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Join two byte streams both ways, keeping TCP half-close: when one side finishes
 * writing, the other side's writing half is ended, and replies still flow back.
 */
export function splice(a: Duplex, b: Duplex): void {
  const destroyBoth = (): void => {
    a.destroy();
    b.destroy();
  };
  a.on('error', destroyBoth);
  b.on('error', destroyBoth);
  a.on('close', () => b.destroy());
  b.on('close', () => a.destroy());
  a.pipe(b);
  b.pipe(a);
}

/**
 * Listen on the manager's 127.0.0.1:port and hand each connection to `open`, which
 * returns the stream to splice it with.
 */
export async function listenOnManager(
  host: string,
  port: number,
  targetPort: number,
  open: () => Promise<Duplex>,
): Promise<Tunnel> {
  const sockets = new Set<Socket>();
  const server: Server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.pause();
    open().then(
      (stream) => {
        // The client may have gone (or the tunnel closed) while the channel opened.
        if (socket.destroyed) {
          stream.destroy();
          return;
        }
        splice(socket, stream);
        socket.resume();
      },
      () => socket.destroy(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'EADDRINUSE' ? new PortInUseError({ port, hosts: ['localhost'], cause: error }) : error);
    });
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => resolve());
  });
  const address = server.address();
  const listenPort = typeof address === 'object' && address !== null ? address.port : port;
  return makeTunnel(listenPort, targetPort, async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
}

/** Connect a stream to the manager's own 127.0.0.1:port. */
export async function connectOnManager(port: number): Promise<Socket> {
  return await new Promise<Socket>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true, noDelay: true });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

export function makeTunnel(listenPort: number, targetPort: number, close: () => Promise<void>): Tunnel {
  let closing: Promise<void> | undefined;
  const closeOnce = async (): Promise<void> => {
    closing ??= close();
    await closing;
  };
  return { listenPort, targetPort, close: closeOnce, [Symbol.asyncDispose]: closeOnce };
}
