// A host whose key changed (reinstalled, or someone in the middle): the connection is
// refused with HostKeyMismatchError before any command runs, under every policy but 'off',
// and known_hosts is left as it was.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { execOnHost, readLab } from '@lazycluster/lab';
import { HostKeyMismatchError, Runtime, RuntimeGroup, type HostKeyPolicy } from '../../src/index.js';
import { managerTempDir, recordFault, run, sshConfigOverriding, timed, uniqueMarker } from '../../../../tooling/reliability/src/lab-faults.js';

const lab = await readLab();
const h1 = lab.hosts.find((h) => h.name === 'h1');
if (h1 === undefined) throw new Error('the lab has no h1');

/** known_hosts that records a freshly made key for h1 (by address and alias) in place of its real one. */
async function changedKnownHosts(dir: string): Promise<string> {
  const keyPath = join(dir, 'impostor_ed25519');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'impostor', '-f', keyPath]);
  const [type, blob] = (await readFile(`${keyPath}.pub`, 'utf8')).trim().split(' ');
  const path = join(dir, 'known_hosts');
  await writeFile(path, `${h1?.address},h1 ${type} ${blob}\n`, { mode: 0o600 });
  return path;
}

async function canaryExists(path: string): Promise<boolean> {
  return (await execOnHost(lab, 'h1', ['test', '-e', path])).exitCode === 0;
}

describe('a changed host key', () => {
  for (const policy of ['strict', 'accept-new'] as const satisfies readonly HostKeyPolicy[]) {
    it(`is refused with HostKeyMismatchError before any command runs (hostKeyPolicy '${policy}')`, async ({ task }) => {
      await using dir = await managerTempDir();
      const knownHosts = await changedKnownHosts(dir.path);
      const before = await readFile(knownHosts);
      await using config = await sshConfigOverriding(lab, `Host h1\n  UserKnownHostsFile ${knownHosts}\n  GlobalKnownHostsFile /dev/null`);
      const canary = `/tmp/${uniqueMarker('hostkey-canary')}`;
      await using rt = new Runtime('h1', { sshConfigPath: config.path, agent: false, hostKeyPolicy: policy });

      const attempt = await timed(rt.exec(['touch', canary]));
      expect(attempt.ok).toBe(false);
      if (attempt.ok) return;
      expect(attempt.error).toBeInstanceOf(HostKeyMismatchError);
      expect(attempt.error).toMatchObject({ code: 'HOST_KEY_MISMATCH', reason: 'mismatch', host: h1.address, file: knownHosts, line: 1 });
      expect((attempt.error as Error).message).toMatch(/has changed/);
      expect(await canaryExists(canary)).toBe(false);
      // A second try neither runs anything nor records the new key.
      await expect(rt.exec(['touch', canary])).rejects.toBeInstanceOf(HostKeyMismatchError);
      expect(await canaryExists(canary)).toBe(false);
      expect(await readFile(knownHosts)).toEqual(before);
      recordFault(task, {
        fault: `changed host key (${policy})`,
        expected: 'HostKeyMismatchError, nothing runs',
        observed: `HostKeyMismatchError(${(attempt.error as HostKeyMismatchError).reason}) in ${Math.round(attempt.ms)} ms, known_hosts untouched`,
        detectMs: attempt.ms,
        leftovers: 0,
      });
    });
  }

  it('fails a group-wide command on that host alone, and the other hosts still run it', async () => {
    await using dir = await managerTempDir();
    const knownHosts = await changedKnownHosts(dir.path);
    await using config = await sshConfigOverriding(lab, `Host h1\n  UserKnownHostsFile ${knownHosts}\n  GlobalKnownHostsFile /dev/null`);
    await using group = new RuntimeGroup({ hosts: ['h1', 'h2'], sshConfigPath: config.path, agent: false });
    const [first, second] = await Promise.allSettled(group.runtimes.map(async (rt) => await rt.run('hostname -I')));
    expect(first?.status).toBe('rejected');
    expect((first as PromiseRejectedResult).reason).toBeInstanceOf(HostKeyMismatchError);
    expect(second?.status).toBe('fulfilled');
  });

  it('is not consulted at all with hostKeyPolicy \'off\', which must be asked for by name', async () => {
    await using dir = await managerTempDir();
    const knownHosts = await changedKnownHosts(dir.path);
    const before = await readFile(knownHosts);
    await using config = await sshConfigOverriding(lab, `Host h1\n  UserKnownHostsFile ${knownHosts}\n  GlobalKnownHostsFile /dev/null`);
    await using rt = new Runtime('h1', { sshConfigPath: config.path, agent: false, hostKeyPolicy: 'off' });
    expect((await rt.run('echo in')).stdout).toBe('in\n');
    expect(await readFile(knownHosts)).toEqual(before);
  });
});
