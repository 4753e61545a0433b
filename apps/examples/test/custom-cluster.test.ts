import { execFileSync } from 'node:child_process';
import { Runtime, RuntimeGroup } from '@lazycluster/runtime';
import { describe, expect, it } from 'vitest';
import { HttpQueueCluster } from '../src/custom-cluster/index.js';

/** Processes below this one (the manager-side agents and everything they started). */
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

describe('HttpQueueCluster on the manager alone', { timeout: 60_000 }, () => {
  it('computes every item with workers on the localhost runtime and leaves no process behind', async () => {
    const before = descendants();
    const items = Array.from({ length: 12 }, (_, i) => `word `.repeat(i + 1).trim());
    const group = new RuntimeGroup({ runtimes: [new Runtime('localhost')] });
    const cluster = new HttpQueueCluster(group, { task: 'wordcount', items });
    const exits: { exitCode: number | null; expected: boolean }[] = [];
    cluster.on('worker-exited', ({ exitCode, expected }) => exits.push({ exitCode, expected }));
    try {
      await cluster.start({ workerCount: 2 });
      expect(cluster.status().workersPerHost).toEqual({ localhost: 2 });
      const status = await cluster.workerStatus(1);
      expect(status).toMatchObject({ worker: 'localhost-1', runtime: 'localhost', processed: 0 });
      expect(descendants().length).toBeGreaterThan(before.length);

      const { results, done } = await cluster.run({ timeoutMs: 30_000 });
      expect(done).toBe(true);
      expect(results.map((r) => r.result)).toEqual(items.map((_, i) => i + 1));
      expect(new Set(results.map((r) => r.worker)).size).toBeGreaterThan(0);
    } finally {
      await cluster.cleanup();
    }
    expect(exits.every((exit) => exit.expected)).toBe(true);
    expect(descendants()).toEqual(before);
  });
});
