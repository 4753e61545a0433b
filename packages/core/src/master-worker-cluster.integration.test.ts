import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostProcesses, readLab, type LabDescription } from '@lazycluster/lab';
import { RuntimeGroup } from '@lazycluster/runtime';
import { describe, expect, it } from 'vitest';
import { HttpServerCluster, HttpServerMaster, HttpServerWorkers } from '../test/http-launchers.js';
import type { ClusterEvents } from './events.js';

const HOSTS = ['h1', 'h2', 'h3'];

/** The processes on each host, polled until none is left or `timeoutMs` passes (sshd sessions end just after their connection). */
async function leftovers(lab: LabDescription, hosts: readonly string[], timeoutMs = 10_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const all = (await Promise.all(hosts.map(async (host) => (await hostProcesses(lab, host)).map((p) => `${host}: ${p.args}`)))).flat();
    if (all.length === 0 || Date.now() > deadline) return all;
  }
}

function cluster(group: RuntimeGroup, options: { failOn?: string[]; hostFailurePolicy?: 'fail' | 'skip' } = {}): HttpServerCluster {
  return new HttpServerCluster(group, {
    masterLauncher: new HttpServerMaster(group),
    workerLauncher: new HttpServerWorkers(group, { failOn: options.failOn ?? [] }),
    hostFailurePolicy: options.hostFailurePolicy,
  });
}

/** An SSH config with the lab's hosts and `down`, an alias whose port refuses connections. */
async function configWithDeadHost(lab: LabDescription): Promise<{ path: string; [Symbol.asyncDispose]: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'lazycluster-core-'));
  const path = join(dir, 'ssh_config');
  const h1 = lab.hosts.find((host) => host.name === 'h1');
  if (h1 === undefined) throw new Error('the lab has no h1');
  await writeFile(path, `Include ${lab.sshConfigPath}\n\nHost down\n  HostName ${h1.address}\n  Port 1\n  User root\n  IdentityFile ${lab.identityFile}\n`);
  return { path, [Symbol.asyncDispose]: async () => await rm(dir, { recursive: true, force: true }) };
}

describe('MasterWorkerCluster on the lab', { timeout: 90_000 }, () => {
  it('runs a worker per host with every worker port reachable from the manager', async () => {
    const lab = await readLab();
    await using c = cluster(new RuntimeGroup({ hosts: HOSTS, sshConfigPath: lab.sshConfigPath }));
    await c.start();
    const status = c.status();
    expect(status.workersPerHost).toEqual({ h1: 1, h2: 1, h3: 1 });
    for (const { port } of status.workers) {
      const response = await fetch(`http://127.0.0.1:${port}/`);
      expect(response.status).toBe(200);
    }
    await c.cleanup();
    expect(await leftovers(lab, HOSTS)).toEqual([]);
  });

  it('removes the master and the workers already started on other hosts when one host fails', async () => {
    const lab = await readLab();
    const group = new RuntimeGroup({ hosts: HOSTS, sshConfigPath: lab.sshConfigPath });
    const workers = new HttpServerWorkers(group, { failOn: ['h3'] });
    const c = new HttpServerCluster(group, { masterLauncher: new HttpServerMaster(group), workerLauncher: workers });
    const started: ClusterEvents['worker-started'][] = [];
    c.on('worker-started', (event) => started.push(event));
    const error = await c.start().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'WORKER_START', host: 'h3', reason: 'exited', exitCode: 4 });
    expect((error as { stderrTail: string }).stderrTail).toContain('no worker here');
    expect(started).toEqual([]);
    // The workers on h1 and h2 were up and listening when h3 failed; they are gone now.
    // Workers launch concurrently: which one the launcher saw first varies.
    expect(workers.launched.map((p) => p.host).sort()).toEqual(['h1', 'h2', 'h3']);
    expect(workers.launched.filter((p) => p.running)).toEqual([]);
    expect(c.isCleanedUp).toBe(true);
    expect(await leftovers(lab, HOSTS)).toEqual([]);
  });

  it("fails with the unreachable host's ConnectionError under the 'fail' policy, starting nothing", async () => {
    const lab = await readLab();
    await using config = await configWithDeadHost(lab);
    const c = cluster(new RuntimeGroup({ hosts: ['h1', 'down'], sshConfigPath: config.path }));
    const error = await c.start().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CONNECTION', host: 'down' });
    expect(c.status().master).toBeUndefined();
    expect(await leftovers(lab, ['h1'])).toEqual([]);
  });

  it("starts on the reachable hosts and reports the others under the 'skip' policy", async () => {
    const lab = await readLab();
    await using config = await configWithDeadHost(lab);
    await using c = cluster(new RuntimeGroup({ hosts: ['h1', 'down', 'h2'], sshConfigPath: config.path }), { hostFailurePolicy: 'skip' });
    const skipped: string[] = [];
    c.on('host-skipped', ({ host }) => skipped.push(host));
    await c.start();
    expect(skipped).toEqual(['down']);
    expect(c.status().workersPerHost).toEqual({ h1: 1, h2: 1 });
    await c.cleanup();
    expect(await leftovers(lab, ['h1', 'h2'])).toEqual([]);
  });
});
