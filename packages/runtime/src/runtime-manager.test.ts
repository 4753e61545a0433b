import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NoRuntimesDetectedError, RuntimeManager } from './index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lazycluster-manager-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('RuntimeManager', () => {
  it('checks the hosts of the config from its constructor; `ready` waits for the result', async () => {
    const config = join(dir, 'config');
    // 'localhost' is the manager's own runtime: checked without SSH.
    await writeFile(config, 'Host localhost\n');
    const manager = new RuntimeManager({ sshConfigPath: config });
    await manager.ready;
    expect(manager.activeHosts).toEqual(['localhost']);
    expect(manager.inactiveHosts).toEqual([]);
    await using group = await manager.createGroup({ installedExecutables: ['sh'] });
    expect(group.hosts).toEqual(['localhost']);
  });

  it('createGroup waits for the checks and fails with NoRuntimesDetectedError when no host passes', async () => {
    const config = join(dir, 'config2');
    await writeFile(config, 'Host localhost\n');
    const manager = new RuntimeManager({ sshConfigPath: config });
    await expect(manager.createGroup({ installedExecutables: ['no-such-executable-here'] })).rejects.toBeInstanceOf(NoRuntimesDetectedError);
  });
});
