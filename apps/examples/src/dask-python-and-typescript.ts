// A Dask cluster over the runtimes: Python code computes through it (distributed.Client()
// finds the scheduler through DASK_SCHEDULER_ADDRESS), TypeScript inspects it natively.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { DaskCluster } from '@lazycluster/dask';
import { RuntimeGroup } from '@lazycluster/runtime';
import { hostsOf, runIfMain, runtimeOptionsOf, type ExampleOptions } from './example-options.js';

// Runs on the manager; every task reports the name of the worker that ran it.
const JOB = `
import json
from distributed import Client, get_worker

def square(x):
    return x * x, get_worker().name

with Client(timeout="30s") as client:
    results = client.gather(client.map(square, range(100)))
    print(json.dumps({"sum": sum(r[0] for r in results), "workers": sorted({r[1] for r in results})}))
`;

export interface DaskExampleResult {
  readonly schedulerAddress: string;
  readonly workersSeenByTypeScript: string[];
  readonly sum: number;
  readonly workersThatComputed: string[];
}

export async function daskPythonAndTypescript(options: ExampleOptions & { python?: string } = {}): Promise<DaskExampleResult> {
  const python = options.python ?? '/usr/bin/python3';
  await using group = new RuntimeGroup({ hosts: hostsOf(options), ...runtimeOptionsOf(options) });
  await using cluster = new DaskCluster(group, { worker: { nthreads: 1, python } });
  await cluster.start();

  // TypeScript speaks the scheduler's own protocol: no Python needed on this side.
  await using client = await cluster.getClient({ timeoutMs: 10_000 });
  const workers = await client.waitForWorkers(group.runtimeCount, { timeoutMs: 30_000 });

  // Python finds the cluster through the environment, as under `lazycluster dask run`.
  const { stdout } = await promisify(execFile)(python, ['-c', JOB], { env: { ...process.env, ...cluster.env } });
  const computed = JSON.parse(stdout) as { sum: number; workers: string[] };

  return {
    schedulerAddress: cluster.env.DASK_SCHEDULER_ADDRESS,
    workersSeenByTypeScript: workers.map((w) => String(w.name)).sort(),
    sum: computed.sum,
    workersThatComputed: computed.workers,
  };
}

runIfMain(import.meta.url, daskPythonAndTypescript);
