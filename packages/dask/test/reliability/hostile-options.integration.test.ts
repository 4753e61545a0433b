// Hostile worker and scheduler options: each value reaches the Dask processes intact, or the
// cluster refuses it with a typed error. Nothing is executed: every value carries injections
// that would create a canary file on the manager or a host.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { WorkerStartError } from '@lazycluster/core';
import { execOnHost, readLab } from '@lazycluster/lab';
import { isLazyclusterError, RuntimeGroup } from '@lazycluster/runtime';
import { DaskCluster, DaskNotInstalledError } from '../../src/index.js';
import { portsFromOs, recordFault, settleLeftovers, track } from './support.js';

const lab = await readLab();
const HOST = 'h3';
const CANARY = `/tmp/lzfault-dask-pwned-${process.pid}-${Date.now()}`;
const injection = fc.constantFrom(`$(touch ${CANARY})`, `\`touch ${CANARY}\``, `;touch ${CANARY};`, `\ntouch ${CANARY}\n`, `|touch ${CANARY}`, `' "$(touch ${CANARY})" '`);
const hostile = fc
  .array(fc.oneof(injection, fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }), fc.constantFrom(' ', "'", '"', '\\', '$', '`', '\n', '=')), { maxLength: 6 })
  .map((parts) => parts.join(''));

async function canaryAnywhere(): Promise<boolean> {
  return existsSync(CANARY) || (await execOnHost(lab, HOST, ['test', '-e', CANARY])).exitCode === 0;
}

afterAll(async () => {
  await execOnHost(lab, HOST, ['rm', '-f', CANARY]);
});

function newCluster(options: ConstructorParameters<typeof DaskCluster>[1] = {}): DaskCluster {
  return new DaskCluster(new RuntimeGroup({ hosts: [HOST], sshConfigPath: lab.sshConfigPath, agent: false }), options);
}

describe('hostile Dask options', () => {
  it('are accepted or refused with a typed error when the cluster is made (property)', () => {
    const option = fc.record(
      {
        nthreads: fc.oneof(fc.integer({ min: -3, max: 64 }), fc.double(), hostile),
        memoryLimit: fc.oneof(hostile, fc.double(), fc.constantFrom('4GB', '512 MiB', 'auto', '0.5', '-1', 'NaN')),
        python: fc.oneof(hostile, fc.dictionary(fc.constantFrom('h1', 'h2', HOST), hostile)),
        extraArgs: fc.oneof(fc.array(hostile, { maxLength: 3 }), hostile),
        env: fc.oneof(fc.dictionary(hostile, hostile, { maxKeys: 3 }), hostile),
        nanny: fc.oneof(fc.boolean(), hostile),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(option, fc.constantFrom('tunnel', 'direct', 'bogus'), (worker, network) => {
        try {
          // Deliberately untyped: JavaScript callers and JSON configs can pass anything.
          newCluster({ worker: worker as object, network: network as 'tunnel' });
        } catch (error) {
          expect(isLazyclusterError(error), String(error)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('hostile env names and values arrive intact in the worker\'s environment', async ({ task }) => {
    const env = fc.sample(fc.dictionary(hostile.filter((k) => k !== '' && !k.includes('=') && !k.includes('\0')).map((k) => `LZ_${k}`), hostile.filter((v) => !v.includes('\0')), { minKeys: 3, maxKeys: 6 }), { numRuns: 1, seed: Date.now() })[0] ?? {};
    const { masterPort, ports } = await portsFromOs();
    const cluster = newCluster({ ports, worker: { nthreads: 1, env } });
    const footprint = track(cluster);
    try {
      await cluster.start({ masterPort });
      const worker = cluster.status().workers[0];
      if (worker === undefined) throw new Error('no worker');
      const environ = (await readFile(`/proc/${worker.pid}/environ`, 'utf8')).split('\0');
      for (const [name, value] of Object.entries(env)) expect(environ).toContain(`${name}=${value}`);
    } finally {
      await cluster.cleanup();
    }
    expect(await canaryAnywhere()).toBe(false);
    const left = await settleLeftovers(lab, footprint);
    expect(left).toEqual([]);
    recordFault(task, { fault: 'hostile worker env', expected: 'arrives intact, never executed', observed: `${Object.keys(env).length} variables intact, no canary`, leftovers: left.length });
  });

  it('a hostile python path or extra argument fails the start with a typed error, runs nothing and leaves nothing', async () => {
    for (const worker of [{ python: `/usr/bin/python3 $(touch ${CANARY})` }, { extraArgs: ['--nthreads', `$(touch ${CANARY})`] }]) {
      const { masterPort, ports } = await portsFromOs();
      const cluster = newCluster({ ports, worker });
      const footprint = track(cluster);
      const error = await cluster.start({ masterPort, timeoutMs: 30_000 }).catch((e: unknown) => e);
      expect(error instanceof DaskNotInstalledError || error instanceof WorkerStartError, String(error)).toBe(true);
      expect((error as { host?: string }).host).toBe(HOST);
      expect(await canaryAnywhere()).toBe(false);
      expect(await settleLeftovers(lab, footprint)).toEqual([]);
    }
  });
});
