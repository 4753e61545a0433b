// A host whose sshd is down when the cluster starts, or killed while it starts. Runs on a
// private lab: the last test kills h2's sshd for good.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NoReachableHostsError } from '@lazycluster/core';
import { ConnectionError, isLazyclusterError, RuntimeGroup } from '@lazycluster/runtime';
import { DaskCluster, type DaskClusterOptions } from '../../src/index.js';
import {
  everyLabProcess,
  hostOfWorker,
  portsFromOs,
  recordFault,
  settleLeftovers,
  sshConfigOverriding,
  startFaultLab,
  track,
  waitFor,
  type FaultLab,
} from './support.js';

let lab: FaultLab;
const hosts = ['h1', 'h2', 'h3'];

beforeAll(async () => {
  lab = await startFaultLab(3);
});

afterAll(async () => {
  await lab[Symbol.asyncDispose]();
});

async function newCluster(sshConfigPath: string, options: Omit<DaskClusterOptions, 'ports'> = {}): Promise<{ cluster: DaskCluster; masterPort: number }> {
  const { masterPort, ports } = await portsFromOs();
  const group = new RuntimeGroup({ hosts, sshConfigPath, agent: false });
  return { cluster: new DaskCluster(group, { ports, worker: { nthreads: 1 }, ...options }), masterPort };
}

/** Where h2's sshd does not listen: what a host whose sshd died looks like from the manager. */
async function h2Closed(): Promise<{ path: string } & AsyncDisposable> {
  return await sshConfigOverriding(lab, 'Host h2\n  Port 2222\n  ConnectTimeout 3');
}

async function labIsEmpty(): Promise<string[]> {
  let left: string[] = [];
  await waitFor(
    async () => {
      left = await everyLabProcess(lab);
      return left.length === 0;
    },
    { timeoutMs: 10_000, intervalMs: 100, what: 'no process left in the lab' },
  ).catch(() => undefined);
  return left;
}

describe('a host whose sshd is down', () => {
  it('fails the start with ConnectionError naming the host, and leaves nothing on the others', async ({ task }) => {
    await using config = await h2Closed();
    const { cluster, masterPort } = await newCluster(config.path);
    const footprint = track(cluster);
    const started = performance.now();
    const error = await cluster.start({ masterPort }).catch((e: unknown) => e);
    const detectMs = performance.now() - started;
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).toMatchObject({ host: 'h2' });
    expect((error as Error).message).toContain('h2');
    expect(detectMs).toBeLessThan(10_000);
    expect(cluster.isCleanedUp).toBe(true);
    const left = [...(await settleLeftovers(lab, footprint)), ...(await labIsEmpty())];
    expect(left).toEqual([]);
    recordFault(task, {
      fault: 'sshd down at start (fail policy)',
      expected: 'ConnectionError(h2); nothing left on h1/h3',
      observed: `ConnectionError(h2) after ${Math.round(detectMs)} ms; h1/h3 clean`,
      detectMs,
      leftovers: left.length,
    });
  });

  it('with hostFailurePolicy \'skip\', starts on the other hosts and reports the skipped one', async ({ task }) => {
    await using config = await h2Closed();
    const { cluster, masterPort } = await newCluster(config.path, { hostFailurePolicy: 'skip' });
    const footprint = track(cluster);
    const skipped: { host: string; reason: string }[] = [];
    cluster.on('host-skipped', ({ host, reason }) => skipped.push({ host, reason }));
    try {
      await cluster.start({ masterPort });
      expect(skipped.map((s) => s.host)).toEqual(['h2']);
      expect(skipped[0]?.reason).toMatch(/h2/);
      expect(cluster.runtimeGroup.hosts).toEqual(['h1', 'h3']);
      expect(cluster.status().workers.map((w) => w.host).sort()).toEqual(['h1', 'h3']);
      await using client = await cluster.getClient({ timeoutMs: 5000 });
      expect((await client.workers()).map((w) => hostOfWorker(String(w.name))).sort()).toEqual(['h1', 'h3']);
    } finally {
      await cluster.cleanup();
    }
    const left = [...(await settleLeftovers(lab, footprint)), ...(await labIsEmpty())];
    expect(left).toEqual([]);
    recordFault(task, { fault: 'sshd down at start (skip policy)', expected: 'starts on h1,h3; h2 reported', observed: `started on h1,h3; host-skipped: ${skipped.map((s) => s.host).join(',')}`, leftovers: left.length });
  });

  it('when killed while the cluster starts, fails it with a typed error naming the host and removes what was started', async ({ task }) => {
    const labHost = lab.hosts.find((h) => h.name === 'h2');
    if (labHost === undefined) throw new Error('no h2');
    const { cluster, masterPort } = await newCluster(lab.sshConfigPath);
    const footprint = track(cluster);
    let killedAt = 0;
    // Synchronously, as soon as the scheduler is up and before any worker starts: every sshd of h2
    // (the listener and the session of the cluster's connection) dies.
    cluster.on('master-started', () => {
      const pids = execFileSync('ip', ['netns', 'pids', labHost.netns], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
      for (const pid of pids) {
        const comm = (() => {
          try {
            return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
          } catch {
            return '';
          }
        })();
        if (comm === 'sshd') process.kill(pid, 'SIGKILL');
      }
      killedAt = performance.now();
    });
    const error = await cluster.start({ masterPort }).catch((e: unknown) => e);
    const detectMs = performance.now() - killedAt;
    expect(killedAt).toBeGreaterThan(0);
    expect(isLazyclusterError(error), String(error)).toBe(true);
    expect(error).toMatchObject({ host: 'h2' });
    expect((error as Error).message).toContain('h2');
    expect(cluster.isCleanedUp).toBe(true);
    const left = [...(await settleLeftovers(lab, footprint)), ...(await labIsEmpty())];
    expect(left).toEqual([]);
    recordFault(task, {
      fault: 'sshd killed during start',
      expected: 'typed error naming h2; scheduler and h1/h3 removed',
      observed: `${(error as { code?: string }).code ?? '?'}(h2) ${Math.round(detectMs)} ms after the kill; all removed`,
      detectMs,
      leftovers: left.length,
    });
  });
});

describe('every host down under the skip policy', () => {
  it('fails with NoReachableHostsError listing each host', async () => {
    await using config = await sshConfigOverriding(lab, 'Host *\n  Port 2222\n  ConnectTimeout 3');
    const { cluster, masterPort } = await newCluster(config.path, { hostFailurePolicy: 'skip' });
    const error = await cluster.start({ masterPort }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoReachableHostsError);
    expect((error as NoReachableHostsError).failures.map((f) => f.host).sort()).toEqual(hosts);
  });
});
