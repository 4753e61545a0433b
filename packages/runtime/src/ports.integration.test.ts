// The free-port checks of @lazycluster/ports, through real runtimes: every answer comes from
// one command per host that reads all listening ports, and must skip exactly the ports
// that listeners started here hold.
import { createServer, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import { listeningPortsOnHost, readLab, spawnOnHost, type HostChildProcess } from '@lazycluster/lab';
import { isPortFreeOnManager, LISTENING_PORTS_COMMAND, parseListeningPortsOutput, portRange } from '@lazycluster/ports';
import { NoPortsLeftError, RuntimeGroup } from './index.js';
import { labRuntime, randomCandidates, waitFor } from '../test/lab-helpers.js';

const lab = await readLab();
const hosts = lab.hosts.map((h) => h.name);

const LISTEN = `
import socket, sys, time
family = socket.AF_INET6 if ":" in sys.argv[2] else socket.AF_INET
s = socket.socket(family)
if family == socket.AF_INET6:
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
s.bind((sys.argv[2], int(sys.argv[1])))
s.listen(1)
time.sleep(100000)
`;

/** Hold `port` on `host`, bound to `address`; resolves once it listens. Disposing kills it. */
async function holdPort(host: string, port: number, address: string): Promise<HostChildProcess> {
  const holder = spawnOnHost(lab, host, ['/usr/bin/python3', '-c', LISTEN, String(port), address], { stdio: 'ignore' });
  await waitFor(async () => (await listeningPortsOnHost(lab, host)).includes(port), { what: `${host} to listen on ${address}:${port}` });
  return holder;
}

async function holdOnManager(port: number): Promise<Server & AsyncDisposable> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port }, resolve);
  });
  return Object.assign(server, {
    async [Symbol.asyncDispose]() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}

/** `count` consecutive ports that nothing listens on, on any lab host or the manager, right now. */
async function freeEverywhere(count: number): Promise<number[]> {
  return await waitFor(async () => {
    const candidates = randomCandidates(count);
    const used = new Set((await Promise.all(hosts.map(async (h) => await listeningPortsOnHost(lab, h)))).flat());
    const managerFree = await Promise.all(candidates.map(async (p) => await isPortFreeOnManager(p)));
    return candidates.every((p, i) => !used.has(p) && managerFree[i] === true) ? candidates : undefined;
  }, { what: 'a run of free ports' });
}

describe('free ports on lab runtimes', () => {
  it('the agent reports the same listening ports as the shell command, IPv4 and IPv6', async () => {
    const [v4, v6] = randomCandidates(2);
    await using _held4 = await holdPort('h2', v4!, lab.hosts[1]!.address);
    await using _held6 = await holdPort('h2', v6!, '::1');
    await using runtime = labRuntime(lab, 'h2');
    const everyPort = portRange(1, 65_535);
    const viaAgent = [...(await runtime.portProbe().busyPorts(everyPort))].sort((a, b) => a - b);
    const viaShell = [...parseListeningPortsOutput((await runtime.run(LISTENING_PORTS_COMMAND)).stdout)].sort((a, b) => a - b);
    expect(viaAgent).toEqual(viaShell);
    expect(viaAgent).toEqual(expect.arrayContaining([22, v4, v6]));
  });

  it('a runtime skips exactly the ports held on its own host, IPv4 and IPv6', async () => {
    const [p0, p1, p2, p3, p4] = (await freeEverywhere(5)) as [number, number, number, number, number];
    await using _a = await holdPort('h1', p0, '127.0.0.1');
    await using _b = await holdPort('h1', p1, '::');
    await using _c = await holdPort('h2', p2, '0.0.0.0');
    await using rt = labRuntime(lab, 'h1');
    expect(await rt.hasFreePort(p0)).toBe(false);
    expect(await rt.hasFreePort(p1)).toBe(false);
    expect(await rt.hasFreePort(p2)).toBe(true);
    expect(await rt.hasFreePort(p3)).toBe(true);
    expect(await rt.getFreePort([p0, p1, p2, p3, p4])).toBe(p2);
    const error = await rt.getFreePort([p0, p1]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoPortsLeftError);
    expect((error as Error).message).toContain(String(p0));
    expect((error as Error).message).toContain(String(p1));
  });

  it('a group skips a port held on any of its hosts, and only those hosts it asks', async () => {
    const [p0, p1, p2, p3, p4, p5] = (await freeEverywhere(6)) as [number, number, number, number, number, number];
    await using _a = await holdPort('h1', p0, '127.0.0.1');
    await using _b = await holdPort('h2', p1, '::');
    await using _c = await holdPort('h3', p2, '0.0.0.0');
    await using group = new RuntimeGroup({ hosts, sshConfigPath: lab.sshConfigPath, agent: false });
    expect(await Promise.all([p0, p1, p2, p3].map(async (p) => await group.hasFreePort(p)))).toEqual([false, false, false, true]);
    expect(await group.hasFreePort(p0, { excludeHosts: ['h1'] })).toBe(true);
    expect(await group.hasFreePort(p1, { excludeHosts: ['h1'] })).toBe(false);
    expect(await group.getFreePort([p0, p1, p2, p3, p4, p5])).toBe(p3);
    expect(await group.getFreePort([p0, p1, p2, p3], { excludeHosts: ['h2', 'h3'] })).toBe(p1);

    await using _manager = await holdOnManager(p3);
    expect(await group.getFreePort([p0, p1, p2, p3, p4])).toBe(p3);
    expect(await group.getFreePort([p0, p1, p2, p3, p4], { includeManager: true })).toBe(p4);
  });

  it('names every candidate and why each host refused it when none is free across the group', async () => {
    const [p0, p1] = (await freeEverywhere(2)) as [number, number];
    await using _a = await holdPort('h1', p0, '127.0.0.1');
    await using _b = await holdPort('h3', p1, '127.0.0.1');
    await using group = new RuntimeGroup({ hosts, sshConfigPath: lab.sshConfigPath, agent: false });
    const error = await group.getFreePort([p0, p1]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoPortsLeftError);
    expect(error).toMatchObject({ code: 'NO_PORTS_LEFT' });
    const message = (error as Error).message;
    for (const text of [String(p0), String(p1), 'h1', 'h3']) expect(message).toContain(text);
  });

  it('does not hand out a leased port twice in one process', async () => {
    const candidates = await freeEverywhere(3);
    await using group = new RuntimeGroup({ hosts, sshConfigPath: lab.sshConfigPath, agent: false });
    const first = await group.leaseFreePort(candidates);
    const second = await group.leaseFreePort(candidates);
    try {
      expect(first.port).toBe(candidates[0]);
      expect(second.port).toBe(candidates[1]);
      expect(first.remaining).toEqual(candidates.slice(1));
    } finally {
      first.lease.release();
      second.lease.release();
    }
    expect(await group.getFreePort(candidates)).toBe(candidates[0]);
  });
});
