import { RuntimeGroup } from '@lazycluster/runtime';
import { describe, expect, it } from 'vitest';
import { DaskConfigError } from '../client/errors.js';
import { DaskCluster } from './dask-cluster.js';
import { LocalMasterLauncher } from './local-master-launcher.js';
import { RoundRobinLauncher } from './round-robin-launcher.js';

// Building a cluster connects to nothing, so these run without any host.
const group = (): RuntimeGroup => new RuntimeGroup({ hosts: ['h1', 'h2'] });

function launchersOf(cluster: DaskCluster): { master: LocalMasterLauncher; workers: RoundRobinLauncher } {
  const { masterLauncher: master, workerLauncher: workers } = cluster;
  if (!(master instanceof LocalMasterLauncher) || !(workers instanceof RoundRobinLauncher)) throw new Error('not the default launchers');
  return { master, workers };
}

describe('DaskCluster (not started)', () => {
  it("uses Dask's scheduler port and the default launchers in tunnel mode", () => {
    const cluster = new DaskCluster(group(), { worker: { nthreads: 2 } });
    expect(DaskCluster.DEFAULT_MASTER_PORT).toBe(8786);
    expect(cluster.network).toBe('tunnel');
    const { master, workers } = launchersOf(cluster);
    expect(workers.workerOptions.nthreads).toBe(2);
    expect(master.network).toBe('tunnel');
    expect(workers.network).toBe('tunnel');
  });

  it('passes direct mode to both default launchers', () => {
    const cluster = new DaskCluster(group(), { network: 'direct' });
    const { master, workers } = launchersOf(cluster);
    expect(master.network).toBe('direct');
    expect(workers.network).toBe('direct');
  });

  it('refuses bad worker options with CONFIG before anything starts', () => {
    expect(() => new DaskCluster(group(), { worker: { nthreads: 0 } })).toThrow(DaskConfigError);
    expect(() => new DaskCluster(group(), { worker: { memoryLimit: 'plenty' } })).toThrow(/worker\.memoryLimit/);
    expect(() => new DaskCluster(group(), { network: 'vpn' as 'tunnel' })).toThrow(/network must be 'tunnel' or 'direct'/);
  });

  it('has no scheduler address, dashboard or env before it starts', async () => {
    const cluster = new DaskCluster(group());
    expect(cluster.schedulerAddress).toBeUndefined();
    expect(cluster.dashboardLink).toBeUndefined();
    expect(() => cluster.env).toThrow(/not running: call start\(\) first/);
    await expect(cluster.getClient()).rejects.toThrow(/not running/);
  });
});
