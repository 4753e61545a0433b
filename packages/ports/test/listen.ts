import { createServer, type AddressInfo, type Server } from 'node:net';

/** A TCP server on a port the OS picks; dispose it with `await using`. */
export async function listen(host: string, options: { ipv6Only?: boolean } = {}): Promise<Server> {
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host, ipv6Only: options.ipv6Only ?? false }, resolve);
  });
  return server;
}

/** The port a listening server is bound to. */
export function portOf(server: Server): number {
  return (server.address() as AddressInfo).port;
}

/** A port that was free a moment ago: the OS picked it, then it was released. */
export async function freedPort(host = '127.0.0.1'): Promise<number> {
  const server = await listen(host);
  const port = portOf(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
