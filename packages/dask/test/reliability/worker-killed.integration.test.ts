// A Dask worker killed with SIGKILL on its host: the cluster reports it within seconds,
// keeps computing on the remaining workers, and scale() replaces it.
import { describe, expect, it } from 'vitest';
import { readLab } from '@lazycluster/lab';
import { RuntimeGroup } from '@lazycluster/runtime';
import { DaskCluster } from '../../src/index.js';
import { hostOfWorker, mapSquares, portsFromOs, recordFault, settleLeftovers, track } from './support.js';

const lab = await readLab();
const hosts = lab.hosts.slice(0, 3).map((h) => h.name);

describe('a worker killed with SIGKILL', () => {
  it('is reported within seconds; work goes on without it; scale() replaces it; nothing is left', async ({ task }) => {
    const { masterPort, ports } = await portsFromOs();
    const cluster = new DaskCluster(new RuntimeGroup({ hosts, sshConfigPath: lab.sshConfigPath, agent: false }), { ports, worker: { nthreads: 1 } });
    const footprint = track(cluster);
    try {
      await cluster.start({ masterPort });
      await using client = await cluster.getClient({ timeoutMs: 5000 });

      const victim = cluster.status().workers.find((w) => w.host === 'h2');
      if (victim === undefined) throw new Error('no worker on h2');
      const exited = new Promise<{ event: Parameters<Parameters<DaskCluster['on']>[1]>[0]; at: number }>((resolve) => {
        const stop = cluster.on('worker-exited', (event) => {
          if (event.index !== victim.index) return;
          stop();
          resolve({ event, at: performance.now() });
        });
      });
      const killedAt = performance.now();
      // The lab's hosts share the manager's pid namespace: this is the worker on h2.
      process.kill(victim.pid, 'SIGKILL');
      const { event, at } = await exited;
      const detectMs = at - killedAt;
      expect(event).toMatchObject({ host: 'h2', index: victim.index, exitCode: null, signal: 'SIGKILL', expected: false });
      expect(detectMs).toBeLessThan(5000);

      // The scheduler drops it, and the cluster says so too.
      await client.waitForWorkers(2, { timeoutMs: 10_000 });
      expect((await client.workers()).map((w) => w.name).sort()).toEqual(['h1-0', 'h3-2']);
      expect(cluster.status().workersPerHost).toEqual({ h1: 1, h2: 0, h3: 1 });
      const without = await mapSquares(cluster);
      expect([...without.workers].map(hostOfWorker).sort()).toEqual(['h1', 'h3']);

      // scale() puts a worker back in the freed place, round-robin.
      const replaced = new Promise<{ host: string; index: number }>((resolve) => {
        const stop = cluster.on('worker-started', (e) => {
          stop();
          resolve(e);
        });
      });
      await cluster.scale(3);
      expect(await replaced).toMatchObject({ host: 'h2', index: victim.index });
      await client.waitForWorkers(3, { timeoutMs: 10_000 });
      expect(cluster.status().workersPerHost).toEqual({ h1: 1, h2: 1, h3: 1 });
      expect((await client.workers()).map((w) => w.name).sort()).toEqual(['h1-0', `h2-${victim.index}`, 'h3-2']);

      await client.close();
      await cluster.cleanup();
      const left = await settleLeftovers(lab, footprint);
      expect(left).toEqual([]);
      recordFault(task, {
        fault: 'worker SIGKILL',
        expected: 'worker-exited within 5 s; computing continues; scale() replaces',
        observed: `worker-exited(h2, SIGKILL) after ${Math.round(detectMs)} ms; 2 workers computed; replaced on h2`,
        detectMs,
        leftovers: left.length,
      });
    } finally {
      await cluster.cleanup();
    }
  });
});
