import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';

import { isLazyclusterError } from '@lazycluster/ports';
import { describe, expect, it } from 'vitest';

import { parseSchedulerAddress } from './address.js';
import { DaskClient } from './dask-client.js';
import { TimeoutError } from './errors.js';

/** A local listener that does `onConnection` with each socket; closed on dispose. */
async function listener(onConnection: (socket: Socket) => void): Promise<{ port: number } & AsyncDisposable> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    async [Symbol.asyncDispose]() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

async function closedPort(): Promise<number> {
  const server = await listener(() => undefined);
  const { port } = server;
  await server[Symbol.asyncDispose]();
  return port;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe('DaskClient.connect without a scheduler', () => {
  it('fails fast with CONNECTION when nothing listens on the port', async () => {
    const port = await closedPort();
    const started = Date.now();
    const error = await rejection(DaskClient.connect(`tcp://127.0.0.1:${port}`, { timeoutMs: 10_000 }));
    expect(isLazyclusterError(error) && error.code).toBe('CONNECTION');
    expect(String(error)).toContain(`tcp://127.0.0.1:${port}`);
    expect(String(error)).toContain('ECONNREFUSED');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('rejects with TimeoutError when the peer accepts but never sends a handshake', async () => {
    await using blackhole = await listener(() => undefined);
    const started = Date.now();
    const error = await rejection(DaskClient.connect(`127.0.0.1:${blackhole.port}`, { timeoutMs: 200 }));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ code: 'TIMEOUT', operation: 'connect', timeoutMs: 200, address: `tcp://127.0.0.1:${blackhole.port}` });
    expect((error as Error).message).toMatch(/raise timeoutMs/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });

  it('rejects with PROTOCOL when the peer speaks another protocol', async () => {
    await using http = await listener((socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    const error = await rejection(DaskClient.connect(`127.0.0.1:${http.port}`, { timeoutMs: 5000 }));
    expect(isLazyclusterError(error) && error.code).toBe('PROTOCOL');
  });

  it('rejects with the abort reason when its signal aborts', async () => {
    await using blackhole = await listener(() => undefined);
    const controller = new AbortController();
    const reason = new Error('user gave up');
    const connecting = DaskClient.connect(`127.0.0.1:${blackhole.port}`, { signal: controller.signal });
    controller.abort(reason);
    expect(await rejection(connecting)).toBe(reason);
  });

  it('rejects an address of another transport with CONFIG', async () => {
    const error = await rejection(DaskClient.connect('tls://127.0.0.1:8786'));
    expect(isLazyclusterError(error) && error.code).toBe('CONFIG');
  });
});

describe('parseSchedulerAddress', () => {
  it('accepts tcp:// and bare host:port alike', () => {
    expect(parseSchedulerAddress('tcp://10.0.0.5:9000')).toEqual({ host: '10.0.0.5', port: 9000, address: 'tcp://10.0.0.5:9000' });
    expect(parseSchedulerAddress('localhost:9000')).toEqual({ host: 'localhost', port: 9000, address: 'tcp://localhost:9000' });
  });

  it("uses Dask's default port 8786 when none is given", () => {
    expect(parseSchedulerAddress('tcp://node1').port).toBe(8786);
  });

  it('accepts a bracketed IPv6 address', () => {
    expect(parseSchedulerAddress('tcp://[::1]:8786')).toEqual({ host: '::1', port: 8786, address: 'tcp://[::1]:8786' });
  });

  it('rejects a port out of range', () => {
    expect(() => parseSchedulerAddress('127.0.0.1:70000')).toThrow(/not a Dask scheduler address/);
  });
});
