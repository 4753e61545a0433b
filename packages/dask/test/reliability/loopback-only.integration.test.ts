// In 'tunnel' mode nothing a Dask cluster starts may be reachable from the network: the
// scheduler (and its dashboard) on the manager, each worker (and its nanny) on its host, and
// every tunnel listen on loopback only. Checked per process with `ss -Htlnp`, so listeners of
// other tests on the shared lab do not count.
import { describe, expect, it } from 'vitest';
import { execOnHost, readLab } from '@lazycluster/lab';
import { RuntimeGroup } from '@lazycluster/runtime';
import { DaskCluster } from '../../src/index.js';
import { isLoopback, managerListeners, parseListeners, portsFromOs, recordFault, settleLeftovers, track, type Listener } from './support.js';

const lab = await readLab();
const hosts = lab.hosts.slice(0, 2).map((h) => h.name);

/** Every pid of the tree under `root` (the lab shares the manager's pid namespace). */
async function tree(root: number): Promise<number[]> {
  const { stdout } = await execOnHost(lab, hosts[0] ?? 'h1', ['ps', '-e', '-o', 'pid=,ppid=']);
  const children = new Map<number, number[]>();
  for (const line of stdout.trim().split('\n')) {
    const [pid, ppid] = line.trim().split(/\s+/).map(Number);
    if (pid === undefined || ppid === undefined) continue;
    children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  const found = [root];
  for (let i = 0; i < found.length; i++) found.push(...(children.get(found[i] ?? -1) ?? []));
  return found;
}

describe('a Dask cluster in tunnel mode', () => {
  for (const nanny of [false, true]) {
    it(`listens on loopback only: scheduler, workers${nanny ? ', nannies' : ''} and tunnels`, async ({ task }) => {
      const { masterPort, ports } = await portsFromOs();
      const cluster = new DaskCluster(new RuntimeGroup({ hosts, sshConfigPath: lab.sshConfigPath, agent: false }), { ports, worker: { nthreads: 1, nanny } });
      const footprint = track(cluster);
      const seen: { where: string; listener: Listener }[] = [];
      try {
        await cluster.start({ masterPort });
        const { master, workers } = cluster.status();
        if (master === undefined) throw new Error('no scheduler');
        const schedulerPids = await tree(master.pid);
        for (const listener of await managerListeners()) {
          // The scheduler's own sockets, and the tunnels the manager holds for the workers.
          if (listener.pids.some((pid) => schedulerPids.includes(pid)) || footprint.ports.includes(listener.port)) seen.push({ where: 'manager', listener });
        }
        for (const host of hosts) {
          const workerPids = (await Promise.all(workers.filter((w) => w.host === host).map(async (w) => await tree(w.pid)))).flat();
          for (const listener of parseListeners((await execOnHost(lab, host, ['ss', '-Htlnp'])).stdout)) {
            if (listener.pids.some((pid) => workerPids.includes(pid)) || footprint.ports.includes(listener.port)) seen.push({ where: host, listener });
          }
        }
      } finally {
        await cluster.cleanup();
      }
      // The scheduler, one worker per host, and the tunnels of each: at least that many listeners.
      expect(seen.length).toBeGreaterThanOrEqual(1 + hosts.length * 2);
      const exposed = seen.filter(({ listener }) => !isLoopback(listener.address));
      expect(exposed.map(({ where, listener }) => `${where} ${listener.address}:${listener.port} (pids ${listener.pids.join(',')})`)).toEqual([]);
      const left = await settleLeftovers(lab, footprint);
      expect(left).toEqual([]);
      recordFault(task, {
        fault: `exposure of scheduler/workers${nanny ? '/nannies' : ''}`,
        expected: 'loopback only',
        observed: `${seen.length} listeners, ${exposed.length} beyond loopback`,
        leftovers: exposed.length + left.length,
      });
    });
  }
});
