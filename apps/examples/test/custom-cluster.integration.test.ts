import { execFileSync } from 'node:child_process';
import { RuntimeGroup } from '@lazycluster/runtime';
import { describe, expect, it } from 'vitest';
import { HttpQueueCluster } from '../src/custom-cluster/index.js';

// NOTE: @lazycluster/lab is not a dependency of this app, so tsc cannot resolve it here; vitest
// resolves it by its alias. Only the part of its API used below is typed.
interface Lab {
  readonly sshConfigPath: string;
  readonly hosts: readonly { readonly name: string }[];
}
interface LabApi {
  readonly readLab: () => Promise<Lab>;
  readonly hostProcesses: (lab: Lab, host: string) => Promise<{ pid: number; args: string }[]>;
}
const LAB_MODULE = '@lazycluster/lab';
const { readLab, hostProcesses } = (await import(LAB_MODULE)) as LabApi;

/** Processes below this one on the manager (local agents and what they started). */
function descendants(): string[] {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({ pid: Number(match[1]), ppid: Number(match[2]), args: match[3] ?? '' }));
  const below = new Set([process.pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const row of rows) {
      if (!below.has(row.pid) && below.has(row.ppid)) {
        below.add(row.pid);
        grew = true;
      }
    }
  }
  return rows.filter((row) => row.pid !== process.pid && below.has(row.pid) && !row.args.startsWith('ps ')).map((row) => `${row.pid} ${row.args}`);
}

/** Every process of the cluster, by host; polls until `check` holds (sshd sessions end a moment after the connection). */
async function processesUntil(lab: Lab, hosts: readonly string[], check: (byHost: string[][]) => boolean, timeoutMs: number): Promise<string[][]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const byHost = await Promise.all(hosts.map(async (host) => (await hostProcesses(lab, host)).map((p) => `${host}: ${p.pid} ${p.args}`)));
    if (check(byHost) || Date.now() > deadline) return byHost;
  }
}

describe('HttpQueueCluster on the lab', { timeout: 120_000 }, () => {
  it('squares every item with workers on three hosts, and leaves nothing running anywhere', async () => {
    const lab = await readLab();
    const hosts = lab.hosts.map((host) => host.name).slice(0, 3);
    expect(hosts).toEqual(['h1', 'h2', 'h3']);
    const managerBefore = descendants();
    const items = Array.from({ length: 30 }, (_, i) => i + 1);
    const group = new RuntimeGroup({ hosts, sshConfigPath: lab.sshConfigPath });
    const cluster = new HttpQueueCluster(group, { task: 'square', items });
    const exits: { host: string; exitCode: number | null; expected: boolean }[] = [];
    cluster.on('worker-exited', ({ host, exitCode, expected }) => exits.push({ host, exitCode, expected }));
    try {
      await cluster.start();
      expect(cluster.status().workersPerHost).toEqual({ h1: 1, h2: 1, h3: 1 });

      // Each worker's own port answers on the manager, through its tunnel, from its own host.
      const statuses = await Promise.all([0, 1, 2].map(async (index) => await cluster.workerStatus(index)));
      expect(statuses.map((s) => s.runtime)).toEqual(['h1', 'h2', 'h3']);
      const running = await processesUntil(lab, hosts, (byHost) => byHost.every((p) => p.some((line) => line.includes('queue_worker.py'))), 10_000);
      expect(running.every((p) => p.some((line) => line.includes('queue_worker.py')))).toBe(true);

      const { results, done } = await cluster.run({ timeoutMs: 60_000 });
      expect(done).toBe(true);
      expect(results.map((r) => [r.item, r.result])).toEqual(items.map((n) => [n, n * n]));
      // The queue stays closed until every worker waits on it, so each gets work; they ran in
      // three different network namespaces, i.e. on three different hosts.
      expect(new Set(results.map((r) => r.runtime))).toEqual(new Set(hosts));
      expect(new Set(results.map((r) => r.netns)).size).toBe(3);
      expect(results.every((r) => r.hostname !== '')).toBe(true);
    } finally {
      await cluster.cleanup();
    }
    expect(exits.filter((exit) => !exit.expected)).toEqual([]);
    const left = await processesUntil(lab, hosts, (byHost) => byHost.every((p) => p.length === 0), 10_000);
    expect(left).toEqual([[], [], []]);
    expect(descendants()).toEqual(managerBefore);
    const managerProcesses = execFileSync('ps', ['-eo', 'args='], { encoding: 'utf8' });
    expect(managerProcesses).not.toMatch(/queue_(master|worker)\.py/);
  });
});
