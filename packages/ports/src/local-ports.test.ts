import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freedPort, listen, portOf } from '../test/listen.js';
import { isPortFreeOnManager, MANAGER_HOST, managerProbe } from './local-ports.js';

describe('isPortFreeOnManager', () => {
  it('is true for a port just freed, every time it is asked', async () => {
    const port = await freedPort();
    expect(await isPortFreeOnManager(port)).toBe(true);
    // get-port would answer "busy" here: it locks every port it returned for 15-30 s.
    expect(await isPortFreeOnManager(port)).toBe(true);
  });

  it('leaves the port bindable afterwards', async () => {
    const port = await freedPort();
    expect(await isPortFreeOnManager(port)).toBe(true);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host: '127.0.0.1' }, resolve);
    });
    await new Promise((resolve) => server.close(resolve));
  });

  it.each([
    ['IPv4 loopback', '127.0.0.1', false],
    ['IPv4 wildcard', '0.0.0.0', false],
    ['IPv6 loopback', '::1', false],
    ['IPv6-only wildcard', '::', true],
    ['dual-stack wildcard', '::', false],
  ])('is false for a port held open on the %s', async (_name, host, ipv6Only) => {
    await using server = await listen(host, { ipv6Only });
    expect(await isPortFreeOnManager(portOf(server))).toBe(false);
  });

  it('rejects an invalid port', async () => {
    await expect(isPortFreeOnManager(0)).rejects.toThrow(RangeError);
    await expect(isPortFreeOnManager(80.5)).rejects.toThrow(TypeError);
  });
});

describe('managerProbe', () => {
  it('speaks for localhost and reports exactly the held candidates', async () => {
    await using v4 = await listen('127.0.0.1');
    await using v6 = await listen('::1');
    const free = await freedPort();
    const probe = managerProbe();
    expect(probe.host).toBe(MANAGER_HOST);
    expect(probe.host).toBe('localhost');
    expect(await probe.busyPorts([free, portOf(v4), portOf(v6)])).toEqual(new Set([portOf(v4), portOf(v6)]));
  });

  it('rejects with the abort reason', async () => {
    const reason = new Error('stop');
    await expect(managerProbe().busyPorts([await freedPort()], { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
  });
});

describe('isPortFreeOnManager called concurrently', () => {
  it('does not mistake its own concurrent checks of the same port for another holder', async () => {
    const port = await freedPort();
    expect(await Promise.all([isPortFreeOnManager(port), isPortFreeOnManager(port), isPortFreeOnManager(port)])).toEqual([true, true, true]);
  });
});
