import { execFile } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { execOnHost, listeningPortsOnHost, readLab, spawnOnHost } from '@lazycluster/lab';
import { PortInUseError, RuntimeGroup, type Runtime } from './index.js';
import { labRuntime, osPort, randomCandidates, waitFor } from '../test/lab-helpers.js';

const lab = await readLab();
const managerAddress = lab.managerAddress;

/** A server on the manager's loopback, on a port from the OS; closed on dispose. */
async function onManager(server: Server | ReturnType<typeof createHttpServer>): Promise<{ port: number } & AsyncDisposable> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    async [Symbol.asyncDispose]() {
      if ('closeAllConnections' in server) server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function httpServer(body: string): ReturnType<typeof createHttpServer> {
  return createHttpServer((request, response) => {
    response.end(`${body} ${request.url ?? ''}`);
  });
}

/** A TCP server that reads until the client shuts down writing, then answers and closes. */
function replyAfterEof(): Server {
  return createServer({ allowHalfOpen: true }, (socket) => {
    let received = 0;
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    socket.on('end', () => {
      socket.end(`after EOF: ${received} bytes`);
    });
  });
}

const PY_CLIENT_HALF_CLOSE = `
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
c.sendall(b"x" * 100000)
c.shutdown(socket.SHUT_WR)
reply = b""
while True:
    chunk = c.recv(65536)
    if not chunk:
        break
    reply += chunk
sys.stdout.write(reply.decode())
`;

const PY_SERVER_HALF_CLOSE = `
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1)
while True:
    c, _ = s.accept()
    received = 0
    while True:
        chunk = c.recv(65536)
        if not chunk:
            break
        received += len(chunk)
    c.sendall(b"after EOF: %d bytes" % received)
    c.close()
`;

/** Connect from the manager, send `size` bytes, shut down writing, and read the reply to the end. */
async function halfCloseFromManager(port: number, size: number): Promise<string> {
  return await new Promise<string>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => {
      socket.end();
      resolve(Buffer.concat(chunks).toString());
    });
    socket.on('error', reject);
    socket.on('connect', () => socket.end(Buffer.alloc(size, 'y')));
  });
}

async function fetchText(port: number, path = '/'): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return await response.text();
}

/** Local addresses something listens on at `port` in the host's network namespace. */
async function listenAddressesOnHost(host: string, port: number): Promise<string[]> {
  const { stdout } = await execOnHost(lab, host, ['ss', '-H', '-t', '-l', '-n']);
  return addressesFor(stdout, port);
}

async function listenAddressesOnManager(port: number): Promise<string[]> {
  const { stdout } = await promisify(execFile)('ss', ['-H', '-t', '-l', '-n']);
  return addressesFor(stdout, port);
}

function addressesFor(ssOutput: string, port: number): string[] {
  return ssOutput
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[3] ?? '')
    .filter((local) => local.endsWith(`:${port}`))
    .map((local) => local.slice(0, local.lastIndexOf(':')));
}

/** Start an HTTP server on the runtime's loopback serving its working dir, and wait until it listens. */
async function httpOnRuntime(runtime: Runtime, port: number, body: string): Promise<void> {
  await runtime.run(['sh', '-c', 'printf "%s" "$1" > hello.txt', 'sh', body]);
  await runtime.spawn(['python3', '-m', 'http.server', String(port), '--bind', '127.0.0.1']);
  await waitFor(async () => (await listeningPortsOnHost(lab, runtime.host)).includes(port), { what: `the HTTP server on ${runtime.host}:${port}` });
}

describe('Runtime tunnels on the lab', () => {
  it('exposePortToRuntime makes a manager service reachable on the host loopback, and only there', async () => {
    await using server = await onManager(httpServer('from the manager'));
    await using rt = labRuntime(lab, 'h1');
    const runtimePort = await rt.getFreePort(randomCandidates());
    await using tunnel = await rt.exposePortToRuntime(server.port, runtimePort);
    expect(tunnel).toMatchObject({ listenPort: runtimePort, targetPort: server.port });
    const { stdout } = await rt.run(['curl', '-sS', `http://127.0.0.1:${runtimePort}/path`]);
    expect(stdout).toBe('from the manager /path');
    expect(await listenAddressesOnHost('h1', runtimePort)).toEqual(['127.0.0.1']);
    // Not from another host, over the lab network.
    const h1Address = lab.hosts[0]!.address;
    const other = await execOnHost(lab, 'h2', ['curl', '-sS', '--max-time', '2', `http://${h1Address}:${runtimePort}/`]);
    expect(other.exitCode).not.toBe(0);
  });

  it('exposePortToRuntime uses the same port on the host by default, and close() stops it', async () => {
    await using server = await onManager(httpServer('same port'));
    await using rt = labRuntime(lab, 'h2');
    const tunnel = await rt.exposePortToRuntime(server.port);
    expect(tunnel.listenPort).toBe(server.port);
    expect((await rt.run(['curl', '-sS', `http://127.0.0.1:${server.port}/`])).stdout).toBe('same port /');
    await tunnel.close();
    await waitFor(async () => !(await listeningPortsOnHost(lab, 'h2')).includes(server.port), { what: 'the tunnel to stop listening' });
    expect((await rt.exec(['curl', '-sS', '--max-time', '2', `http://127.0.0.1:${server.port}/`])).exitCode).not.toBe(0);
  });

  it('exposePortFromRuntime makes a host service reachable on the manager loopback, and only there', async () => {
    await using rt = labRuntime(lab, 'h1');
    const port = await rt.getFreePort(randomCandidates());
    await httpOnRuntime(rt, port, 'served by h1');
    const localPort = await osPort();
    await using tunnel = await rt.exposePortFromRuntime(port, localPort);
    expect(tunnel).toMatchObject({ listenPort: localPort, targetPort: port });
    expect(await fetchText(localPort, '/hello.txt')).toBe('served by h1');
    expect(await listenAddressesOnManager(localPort)).toEqual(['127.0.0.1']);
    const fromLab = await execOnHost(lab, 'h2', ['curl', '-sS', '--max-time', '2', `http://${managerAddress}:${localPort}/hello.txt`]);
    expect(fromLab.exitCode).not.toBe(0);
    await tunnel.close();
    await expect(fetchText(localPort, '/hello.txt')).rejects.toThrow();
  });

  it('keeps TCP half-close from the host to the manager: the reply after EOF arrives', async () => {
    await using server = await onManager(replyAfterEof());
    await using rt = labRuntime(lab, 'h3');
    const runtimePort = await rt.getFreePort(randomCandidates());
    await using _tunnel = await rt.exposePortToRuntime(server.port, runtimePort);
    const { stdout } = await rt.run(['python3', '-c', PY_CLIENT_HALF_CLOSE, String(runtimePort)], { timeoutMs: 10_000 });
    expect(stdout).toBe('after EOF: 100000 bytes');
  });

  it('keeps TCP half-close from the manager to the host: the reply after EOF arrives', async () => {
    await using rt = labRuntime(lab, 'h3');
    const port = await rt.getFreePort(randomCandidates());
    await rt.spawn(['python3', '-c', PY_SERVER_HALF_CLOSE, String(port)]);
    await waitFor(async () => (await listeningPortsOnHost(lab, 'h3')).includes(port), { what: 'the half-close server' });
    await using tunnel = await rt.exposePortFromRuntime(port, 0);
    expect(await halfCloseFromManager(tunnel.listenPort, 200_000)).toBe('after EOF: 200000 bytes');
    expect(await halfCloseFromManager(tunnel.listenPort, 0)).toBe('after EOF: 0 bytes');
  });

  it('rejects exposePortToRuntime with PortInUseError when the port is taken on the host', async () => {
    await using server = await onManager(httpServer('x'));
    await using rt = labRuntime(lab, 'h2');
    const port = await rt.getFreePort(randomCandidates());
    await using _holder = spawnOnHost(lab, 'h2', ['/usr/bin/python3', '-m', 'http.server', String(port)], { stdio: 'ignore' });
    await waitFor(async () => (await listeningPortsOnHost(lab, 'h2')).includes(port), { what: 'the holder to listen' });
    const error = await rt.exposePortToRuntime(server.port, port).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PortInUseError);
    expect(error).toMatchObject({ code: 'PORT_IN_USE', port });
    expect((error as Error).message).toContain('h2');
  });

  it('rejects exposePortFromRuntime with PortInUseError when the port is taken on the manager', async () => {
    await using taken = await onManager(createServer());
    await using rt = labRuntime(lab, 'h1');
    const error = await rt.exposePortFromRuntime(22, taken.port).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PortInUseError);
    expect(error).toMatchObject({ code: 'PORT_IN_USE', port: taken.port });
  });
});

describe('RuntimeGroup tunnels on the lab', () => {
  it('exposePortFromRuntimeToGroup makes a service on h1 reachable at the same port from h2, h3 and the manager', async () => {
    await using group = new RuntimeGroup({ hosts: ['h1', 'h2', 'h3'], sshConfigPath: lab.sshConfigPath, agent: false });
    const port = await group.getFreePort(randomCandidates(), { includeManager: true });
    await httpOnRuntime(group.getRuntime('h1'), port, 'the h1 service');
    await using tunnel = await group.exposePortFromRuntimeToGroup('h1', port);
    expect(tunnel.listenPort).toBe(port);
    const results = await group.exec(['curl', '-sS', `http://127.0.0.1:${port}/hello.txt`], { hosts: ['h2', 'h3'] });
    expect(results.map((r) => r.stdout)).toEqual(['the h1 service', 'the h1 service']);
    expect(await fetchText(port, '/hello.txt')).toBe('the h1 service');
    for (const host of ['h2', 'h3']) expect(await listenAddressesOnHost(host, port)).toEqual(['127.0.0.1']);
    await tunnel.close();
    await expect(fetchText(port, '/hello.txt')).rejects.toThrow();
    for (const host of ['h2', 'h3']) {
      await waitFor(async () => !(await listeningPortsOnHost(lab, host)).includes(port), { what: `the tunnel on ${host} to close` });
    }
  });

  it('exposePortToRuntimes reaches a manager service from every host but the excluded ones', async () => {
    await using server = await onManager(httpServer('for the group'));
    await using group = new RuntimeGroup({ hosts: ['h1', 'h2', 'h3'], sshConfigPath: lab.sshConfigPath, agent: false });
    const runtimePort = await group.getFreePort(randomCandidates());
    await using _tunnel = await group.exposePortToRuntimes(server.port, { runtimePort, excludeHosts: ['h3'] });
    const reached = await group.exec(['curl', '-sS', '--max-time', '2', `http://127.0.0.1:${runtimePort}/`]);
    expect(reached.map((r) => [r.host, r.exitCode === 0 ? r.stdout : 'unreachable'])).toEqual([
      ['h1', 'for the group /'],
      ['h2', 'for the group /'],
      ['h3', 'unreachable'],
    ]);
  });

  it('closes every tunnel already opened when one host of exposePortToRuntimes fails', async () => {
    await using server = await onManager(httpServer('x'));
    await using group = new RuntimeGroup({ hosts: ['h1', 'h2', 'h3'], sshConfigPath: lab.sshConfigPath, agent: false });
    const port = await group.getFreePort(randomCandidates());
    await using _holder = spawnOnHost(lab, 'h3', ['/usr/bin/python3', '-m', 'http.server', String(port)], { stdio: 'ignore' });
    await waitFor(async () => (await listeningPortsOnHost(lab, 'h3')).includes(port), { what: 'the holder to listen' });
    await expect(group.exposePortToRuntimes(server.port, { runtimePort: port })).rejects.toBeInstanceOf(PortInUseError);
    for (const host of ['h1', 'h2']) {
      await waitFor(async () => !(await listeningPortsOnHost(lab, host)).includes(port), { what: `no tunnel left on ${host}` });
    }
  });
});
