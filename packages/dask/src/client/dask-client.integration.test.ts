// Against a real Dask (Debian's python3-distributed 2022.12.1): a scheduler and --no-nanny
// workers started on the manager, each killed when its test ends.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DaskClient } from './dask-client.js';
import { TimeoutError } from './errors.js';
import type { DaskWorkerEvent } from './worker-status.js';

interface DaskProcess extends AsyncDisposable {
  readonly pid: number;
  /** Resolves with the exit code (or signal name) when the process ends. */
  readonly exited: Promise<number | string>;
  readonly output: () => string;
}

function startDask(executable: 'dask-scheduler' | 'dask-worker', args: string[]): DaskProcess {
  const child = spawn(`/usr/bin/${executable}`, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  child.once('error', (error) => {
    output += String(error);
  });
  return {
    pid: child.pid ?? -1,
    exited,
    output: () => output,
    async [Symbol.asyncDispose]() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const forced = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(forced);
    },
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Rejects when `promise` has not settled within `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Connects as soon as the scheduler accepts: readiness is observed, never slept for. */
async function connectWhenUp(address: string, scheduler: DaskProcess, timeoutMs = 30_000): Promise<DaskClient> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 20; ; delay = Math.min(delay * 2, 200)) {
    try {
      return await DaskClient.connect(address, { timeoutMs: 2000 });
    } catch (error) {
      const gone = await Promise.race([scheduler.exited.then(() => true), Promise.resolve(false)]);
      if (gone || Date.now() > deadline) throw new Error(`scheduler at ${address} never came up:\n${scheduler.output()}`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

interface RunningScheduler extends AsyncDisposable {
  readonly process: DaskProcess;
  readonly client: DaskClient;
  readonly address: string;
}

async function startScheduler(): Promise<RunningScheduler> {
  const port = await freePort();
  const address = `tcp://127.0.0.1:${port}`;
  const process = startDask('dask-scheduler', ['--host', '127.0.0.1', '--port', String(port), '--no-dashboard']);
  try {
    const client = await connectWhenUp(address, process);
    return {
      process,
      client,
      address,
      async [Symbol.asyncDispose]() {
        await client.close();
        await process[Symbol.asyncDispose]();
      },
    };
  } catch (error) {
    await process[Symbol.asyncDispose]();
    throw error;
  }
}

describe('DaskClient against a real scheduler', () => {
  let scheduler: RunningScheduler | undefined;
  let client: DaskClient;
  let address: string;
  let workDir: string;
  const workers: DaskProcess[] = [];

  const startWorker = (name: string): DaskProcess => {
    const worker = startDask('dask-worker', [
      address,
      '--nthreads',
      '2',
      '--no-nanny',
      '--no-dashboard',
      '--name',
      name,
      '--local-directory',
      join(workDir, name),
    ]);
    workers.push(worker);
    return worker;
  };

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'lazycluster-dask-client-'));
    scheduler = await startScheduler();
    ({ client, address } = scheduler);
  });

  afterAll(async () => {
    await scheduler?.[Symbol.asyncDispose]();
    await Promise.all(workers.map((worker) => worker[Symbol.asyncDispose]()));
    await rm(workDir, { recursive: true, force: true });
  });

  it('reads the scheduler identity', async () => {
    const identity = await client.identity();
    expect(identity).toMatchObject({ type: 'Scheduler', address, services: {}, workers: {} });
    expect(identity.id).toMatch(/^Scheduler-/);
    expect(identity.started).toBeGreaterThan(Date.now() / 1000 - 600);
    expect(client.address).toBe(address);
    expect(client.schedulerAddress).toBe(address);
  });

  it('waits for two workers and describes them', async () => {
    startWorker('w1');
    startWorker('w2');
    const ready = await client.waitForWorkers(2, { timeoutMs: 30_000 });
    expect(ready).toHaveLength(2);

    const infos = await client.workers();
    expect(infos.map((w) => w.name).sort()).toEqual(['w1', 'w2']);
    for (const info of infos) {
      expect(info).toMatchObject({ host: '127.0.0.1', nthreads: 2, status: 'running', nanny: null });
      expect(info.address).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
      expect(info.memoryLimit).toBeGreaterThan(0);
      expect(info.localDirectory.startsWith(workDir)).toBe(true);
      expect(info.lastSeen).toBeGreaterThan(0);
    }
  });

  it("refuses a worker's address with PROTOCOL: it answers the handshake but is no scheduler", async () => {
    const [worker] = await client.workers();
    const error: unknown = await DaskClient.connect(worker!.address, { timeoutMs: 5000 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PROTOCOL' });
    expect((error as Error).message).toContain('is a Dask Worker, not a scheduler');
  });

  it('times out waiting for more workers than there are, saying how many run', async () => {
    const started = Date.now();
    const error: unknown = await client.waitForWorkers(5, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).code).toBe('TIMEOUT');
    expect((error as Error).message).toContain('2 of 5 workers running');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('reports a worker joining and a killed worker leaving', async () => {
    const events: DaskWorkerEvent[] = [];
    let notify: () => void = () => undefined;
    const next = (predicate: (e: DaskWorkerEvent) => boolean): Promise<DaskWorkerEvent> =>
      new Promise((resolve) => {
        notify = () => {
          const found = events.find(predicate);
          if (found) resolve(found);
        };
        notify();
      });
    await using subscription = await client.subscribeWorkerStatus((event) => {
      events.push(event);
      notify();
    });
    expect(subscription.workers.size).toBe(2);

    const w3 = startWorker('w3');
    const added = await within(next((e) => e.type === 'added' && e.worker.name === 'w3'), 30_000, 'w3 added');
    expect(added).toMatchObject({ type: 'added', worker: { nthreads: 2, host: '127.0.0.1' } });
    expect(subscription.workers.has(added.address)).toBe(true);

    process.kill(w3.pid, 'SIGKILL');
    await within(next((e) => e.type === 'removed' && e.address === added.address), 30_000, 'w3 removed');
    expect(subscription.workers.has(added.address)).toBe(false);

    await subscription.close();
    await within(subscription.ended, 5000, 'subscription end');
  });

  it('retires a worker by name and its process exits', async () => {
    const w2 = workers.find((_, i) => i === 1)!;
    const retired = await client.retireWorkers({ names: ['w2'] });
    expect(retired.map((w) => w.name)).toEqual(['w2']);
    expect(await within(w2.exited, 30_000, 'w2 exit')).toBe(0);
    expect((await client.workers()).map((w) => w.name)).toEqual(['w1']);
  });

  it('shuts a scheduler down and its process exits', async () => {
    await using own = await startScheduler();
    const subscription = await own.client.subscribeWorkerStatus(() => undefined);
    await own.client.shutdown({ timeoutMs: 10_000 });
    expect(await within(own.process.exited, 30_000, 'scheduler exit')).toBe(0);
    await within(subscription.ended, 5000, 'subscription end');
    const error: unknown = await own.client.identity().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CONNECTION' });
  });
});
