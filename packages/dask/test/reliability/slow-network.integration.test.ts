// A slow, lossy network (200 ms more on every packet to a host, 2 % of packets lost): the
// cluster still starts, its tasks still return correct results, it is only slower. Runs on a
// private lab so the impairment slows no other test file.
import { describe, expect, it } from 'vitest';
import { RuntimeGroup } from '@lazycluster/runtime';
import { DaskCluster } from '../../src/index.js';
import {
  droppedPackets,
  hostOfWorker,
  impairNetwork,
  mapSquares,
  portsFromOs,
  recordFault,
  settleLeftovers,
  sshConfigOverriding,
  startFaultLab,
  track,
} from './support.js';

const DELAY_MS = 200;
const LOSS_PERCENT = 2;

/** Milliseconds for one plain command on every host, connections included. */
async function oneCommandEach(hosts: readonly string[], sshConfigPath: string): Promise<number> {
  await using group = new RuntimeGroup({ hosts, sshConfigPath, agent: false });
  const started = performance.now();
  await Promise.all(group.runtimes.map(async (rt) => await rt.run('true')));
  return performance.now() - started;
}

describe('a slow and lossy network', () => {
  it(`starts the cluster and computes correctly, only slower (+${DELAY_MS} ms, ${LOSS_PERCENT} % loss)`, async ({ task }) => {
    await using lab = await startFaultLab(2);
    const hosts = lab.hosts.map((h) => h.name);
    const baseline = await oneCommandEach(hosts, lab.sshConfigPath);

    await using impaired = await impairNetwork(lab, hosts, { delayMs: DELAY_MS, lossPercent: LOSS_PERCENT });
    await using config = await sshConfigOverriding(lab, impaired.sshConfigBlocks);
    const slowed = await oneCommandEach(hosts, config.path);

    const { masterPort, ports } = await portsFromOs();
    const cluster = new DaskCluster(new RuntimeGroup({ hosts, sshConfigPath: config.path, agent: false }), { ports, worker: { nthreads: 1 } });
    const footprint = track(cluster);
    let startMs = 0;
    let tasksMs = 0;
    try {
      const started = performance.now();
      await cluster.start({ masterPort, timeoutMs: 90_000 });
      startMs = performance.now() - started;
      const tasks = await mapSquares(cluster, 20, 120_000);
      tasksMs = tasks.ms;
      expect(new Set([...tasks.workers].map(hostOfWorker))).toEqual(new Set(hosts));
    } finally {
      await cluster.cleanup();
    }
    const left = await settleLeftovers(lab, footprint, 30_000);
    expect(left).toEqual([]);
    // Slower, as it must be: a connection alone takes several delayed round trips.
    expect(slowed).toBeGreaterThan(baseline);
    expect(slowed).toBeGreaterThan(2 * DELAY_MS);
    const dropped = (await Promise.all(hosts.map(async (h) => await droppedPackets(lab, h)))).reduce((a, b) => a + b, 0);
    recordFault(task, {
      fault: `slow, lossy network (+${DELAY_MS} ms, ${LOSS_PERCENT} % loss)`,
      expected: 'start and tasks succeed, slower',
      observed: `${impaired.how}: command ${Math.round(baseline)} -> ${Math.round(slowed)} ms; up in ${Math.round(startMs)} ms; 20 tasks correct in ${Math.round(tasksMs)} ms; ${dropped} packets dropped`,
      leftovers: left.length,
    });
  }, 240_000);
});
