// The Dask scheduler killed with SIGKILL while the cluster runs: the cluster reports it, its
// workers stay under its control (not orphaned), and cleanup() still removes everything.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { readLab } from '@lazycluster/lab';
import { RuntimeGroup } from '@lazycluster/runtime';
import { DaskCluster } from '../../src/index.js';
import { pidAlive, portsFromOs, recordFault, settleLeftovers, track } from './support.js';

const lab = await readLab();
const hosts = lab.hosts.slice(0, 3).map((h) => h.name);

/** The parent of `pid`, from /proc (the lab's hosts share the manager's pid namespace). */
async function parentOf(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat === undefined ? undefined : Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

describe('the scheduler killed with SIGKILL', () => {
  it('is reported; its workers are not orphaned; cleanup() removes everything', async ({ task }) => {
    const { masterPort, ports } = await portsFromOs();
    const cluster = new DaskCluster(new RuntimeGroup({ hosts, sshConfigPath: lab.sshConfigPath, agent: false }), { ports, worker: { nthreads: 1 } });
    const footprint = track(cluster);
    const cleanupDone = new Promise<{ errors: readonly unknown[] }>((resolve) => cluster.on('cleanup-done', resolve));
    try {
      await cluster.start({ masterPort });
      const { master, workers } = cluster.status();
      if (master === undefined) throw new Error('no scheduler');
      const agents = await Promise.all(workers.map(async (w) => await parentOf(w.pid)));

      const exited = new Promise<{ expected: boolean; at: number }>((resolve) => {
        const stop = cluster.on('master-exited', (event) => {
          stop();
          resolve({ expected: event.expected, at: performance.now() });
        });
      });
      const killedAt = performance.now();
      process.kill(master.pid, 'SIGKILL');
      const { expected, at } = await exited;
      const detectMs = at - killedAt;
      expect(expected).toBe(false);
      expect(detectMs).toBeLessThan(5000);

      // Still the cluster's: listed, alive, and children of the same runtime agents.
      expect(cluster.status().workers.map((w) => w.pid)).toEqual(workers.map((w) => w.pid));
      for (const [i, worker] of workers.entries()) {
        expect(pidAlive(worker.pid)).toBe(true);
        expect(await parentOf(worker.pid)).toBe(agents[i]);
      }

      const started = performance.now();
      await cluster.cleanup();
      const cleanupMs = performance.now() - started;
      expect(cleanupMs).toBeLessThan(20_000);
      const left = await settleLeftovers(lab, footprint);
      expect(left).toEqual([]);
      for (const agent of agents) if (agent !== undefined) expect(pidAlive(agent)).toBe(false);
      const { errors } = await cleanupDone;
      recordFault(task, {
        fault: 'scheduler SIGKILL',
        expected: 'master-exited; workers owned; cleanup() removes all',
        observed: `master-exited after ${Math.round(detectMs)} ms; cleanup ${Math.round(cleanupMs)} ms (${errors.length} step errors reported)`,
        detectMs,
        leftovers: left.length,
      });
    } finally {
      await cluster.cleanup();
    }
  });
});
