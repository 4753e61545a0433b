import { describe, expect, it } from 'vitest';
import { readLab } from '@lazycluster/lab';
import { InvalidRuntimeError, RuntimeGroup } from './index.js';
import { labRuntime, pidAlive, processesWith, waitFor } from '../test/lab-helpers.js';

const lab = await readLab();
const hosts = lab.hosts.map((h) => h.name);

function labGroup(names: readonly string[] = hosts): RuntimeGroup {
  return new RuntimeGroup({ hosts: names, sshConfigPath: lab.sshConfigPath, agent: false });
}

describe('RuntimeGroup on the lab', () => {
  it('runs a command on every host in parallel, each on its own host', async () => {
    await using group = labGroup();
    expect(group.hosts).toEqual(hosts);
    expect(group.runtimeCount).toBe(3);
    const results = await group.exec('hostname -I');
    expect(results.map((r) => [r.host, r.stdout.trim()])).toEqual(lab.hosts.map((h) => [h.name, h.address]));
    const some = await group.exec('true', { hosts: ['h3', 'h1'] });
    expect(some.map((r) => r.host)).toEqual(['h3', 'h1']);
  });

  it('reads info() of every host', async () => {
    await using group = labGroup();
    const infos = await group.info();
    expect(infos.map((info) => info.host)).toEqual(hosts);
    for (const info of infos) expect(info.pythonVersion).toMatch(/^3\./);
  });

  it('setEnv and addEnv reach every runtime', async () => {
    await using group = labGroup();
    group.setEnv({ ROLE: 'worker', DROP: 'me' });
    group.setEnv({ ROLE: 'worker' });
    group.addEnv({ CLUSTER: 'lab one' });
    const results = await group.exec('printf "%s|%s|%s" "$ROLE" "$CLUSTER" "${DROP-unset}"');
    expect(results.map((r) => r.stdout)).toEqual(['worker|lab one|unset', 'worker|lab one|unset', 'worker|lab one|unset']);
  });

  it('is built from existing runtimes, refuses a second runtime of the same host, and names unknown hosts', async () => {
    await using group = new RuntimeGroup({ runtimes: [labRuntime(lab, 'h1'), labRuntime(lab, 'h2')] });
    expect(group.hosts).toEqual(['h1', 'h2']);
    group.addRuntime(labRuntime(lab, 'h3', { env: { ONLY: 'h3' } }));
    expect(group.hosts).toEqual(hosts);
    expect((await group.getRuntime('h3').run('printf "%s" "$ONLY"')).stdout).toBe('h3');
    expect(() => group.addRuntime(labRuntime(lab, 'h1'))).toThrow(InvalidRuntimeError);
    const error = (() => {
      try {
        return group.getRuntime('h9');
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InvalidRuntimeError);
    expect((error as Error).message).toContain('h9');
  });

  it('removeRuntime takes a runtime out and stops what it started', async () => {
    await using group = labGroup(['h1', 'h2']);
    const marker = `1000.${Date.now() % 1_000_000}`;
    const proc = await group.getRuntime('h2').spawn(['sleep', marker]);
    await waitFor(async () => (await processesWith(lab, 'h2', marker)).length === 1, { what: 'the sleep to start' });
    await group.removeRuntime('h2');
    expect(group.hosts).toEqual(['h1']);
    expect(await processesWith(lab, 'h2', marker)).toEqual([]);
    expect(pidAlive(proc.pid)).toBe(false);
    expect(() => group.getRuntime('h2')).toThrow(InvalidRuntimeError);
  });

  it('cleanup() is idempotent and cleans every runtime', async () => {
    const group = labGroup();
    await group.connect();
    await Promise.all([group.cleanup(), group.cleanup()]);
    await group.cleanup();
    for (const runtime of group.runtimes) await expect(runtime.exec('true')).rejects.toBeInstanceOf(InvalidRuntimeError);
  });
});
