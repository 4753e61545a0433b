import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { execOnHost, readLab } from '@lazycluster/lab';
import { InvalidRuntimeError, RuntimeGroup, type Runtime } from './index.js';
import { connectionProcesses, existsOnHost, labRuntime, parentPid, pidAlive, processesWith, waitFor } from '../test/lab-helpers.js';

const lab = await readLab();
const hosts = lab.hosts.map((h) => h.name);

function uniqueSeconds(): string {
  return `1000.${Date.now() % 1_000_000}${Math.floor(Math.random() * 1e6)}`;
}

interface Footprint {
  readonly host: string;
  readonly marker: string;
  readonly workingDir: string;
  readonly agentPid: number;
  readonly sessionPid: number;
}

/** Start a process tree on `runtime` and note everything it leaves on its host. */
async function leaveFootprint(runtime: Runtime, script = (s: string) => `sleep ${s} & (sleep ${s} &); sleep ${s}`): Promise<Footprint> {
  const marker = uniqueSeconds();
  await runtime.spawn(script(marker));
  const { agentPid, sessionPid } = await connectionProcesses(runtime);
  const workingDir = await runtime.workingDir();
  await waitFor(async () => (await processesWith(lab, runtime.host, marker)).length >= 3, { what: `the sleeps on ${runtime.host}` });
  expect(await existsOnHost(lab, runtime.host, workingDir)).toBe(true);
  return { host: runtime.host, marker, workingDir, agentPid, sessionPid };
}

/** Nothing of `footprint` is left: no tagged process, no agent, no sshd session, no temp dir. */
async function expectGone(footprint: Footprint, options: { timeoutMs?: number } = {}): Promise<void> {
  const { host, marker, workingDir, agentPid, sessionPid } = footprint;
  await waitFor(
    async () => (await processesWith(lab, host, marker)).length === 0 && !pidAlive(agentPid) && !pidAlive(sessionPid) && !(await existsOnHost(lab, host, workingDir)),
    { what: `everything the runtime started on ${host} to be gone`, ...options },
  );
}

describe('Runtime cleanup on the lab', () => {
  it('stops what a finished command left running in the background', async () => {
    const runtime = labRuntime(lab, 'h3');
    const marker = uniqueSeconds();
    try {
      const result = await runtime.exec(`sleep ${marker} >/dev/null 2>&1 & echo started`);
      expect(result.stdout).toBe('started\n');
      await waitFor(async () => (await processesWith(lab, 'h3', marker)).length === 1, { what: 'the background sleep on h3' });
    } finally {
      await runtime.cleanup();
    }
    await waitFor(async () => (await processesWith(lab, 'h3', marker)).length === 0, { what: 'the background sleep to be stopped' });
  });

  it('leaves no process and no temp working dir on any host after cleanup()', async () => {
    const group = new RuntimeGroup({ hosts, sshConfigPath: lab.sshConfigPath, agent: false });
    let footprints: Footprint[] = [];
    try {
      footprints = await Promise.all(group.runtimes.map(async (runtime) => await leaveFootprint(runtime)));
    } finally {
      await group.cleanup();
    }
    for (const footprint of footprints) {
      // The agent stops every tree and removes its temp dir before cleanup() resolves.
      expect(await processesWith(lab, footprint.host, footprint.marker)).toEqual([]);
      expect(pidAlive(footprint.agentPid)).toBe(false);
      expect(await existsOnHost(lab, footprint.host, footprint.workingDir)).toBe(false);
      await expectGone(footprint, { timeoutMs: 3000 });
    }
  });

  it('returns from cleanup() at once when the tree dies on SIGTERM, even if init is slow to reap orphans', async () => {
    const rt = labRuntime(lab, 'h3');
    let footprint: Footprint;
    try {
      // The background sleeps outlive the shell for a moment and are re-parented to init,
      // which on this kind of machine reaps zombies only every second or two.
      footprint = await leaveFootprint(rt);
    } finally {
      const started = Date.now();
      await rt.cleanup();
      // The agent's grace period is 3 s; waiting for init's reaping took 1.5-2 s here.
      expect(Date.now() - started).toBeLessThan(1000);
    }
    await expectGone(footprint);
  });

  it('kills a process tree that ignores SIGTERM', async () => {
    let footprint: Footprint | undefined;
    {
      await using rt = labRuntime(lab, 'h2');
      footprint = await leaveFootprint(rt, (s) => `trap "" TERM; sleep ${s} & (trap "" TERM; sleep ${s} &); sleep ${s}`);
    }
    await expectGone(footprint);
  });

  it('is idempotent, and a cleaned-up runtime refuses new work', async () => {
    const rt = labRuntime(lab, 'h1');
    const footprint = await leaveFootprint(rt);
    await Promise.all([rt.cleanup(), rt.cleanup()]);
    await rt.cleanup();
    await rt[Symbol.asyncDispose]();
    await expectGone(footprint);
    await expect(rt.exec('true')).rejects.toBeInstanceOf(InvalidRuntimeError);
    await expect(rt.spawn('true')).rejects.toThrow(/cleaned up/);
  });

  it('cleans up when an `await using` block ends, also by an exception', async () => {
    let footprint: Footprint | undefined;
    const failing = async (): Promise<void> => {
      await using rt = labRuntime(lab, 'h3');
      footprint = await leaveFootprint(rt);
      throw new Error('the test body failed');
    };
    await expect(failing()).rejects.toThrow('the test body failed');
    if (footprint === undefined) throw new Error('no footprint');
    await expectGone(footprint);
  });

  it('keeps a working directory the user gave', async () => {
    const dir = `/tmp/lzc-given-${uniqueSeconds()}`;
    try {
      {
        await using rt = labRuntime(lab, 'h1', { workingDir: dir });
        await rt.run('echo kept > file');
      }
      expect((await execOnHost(lab, 'h1', ['cat', `${dir}/file`])).stdout).toBe('kept\n');
    } finally {
      await execOnHost(lab, 'h1', ['rm', '-rf', dir]);
    }
  });

  it('leaves nothing on any host after the manager is killed with SIGKILL', async () => {
    const marker = uniqueSeconds();
    const fixture = fileURLToPath(new URL('../test/fixtures/sleeping-manager.ts', import.meta.url));
    const tsconfig = fileURLToPath(new URL('../test/fixtures/tsx.tsconfig.json', import.meta.url));
    // Its own process group, so the SIGKILL reaches pnpm, tsx and the manager at once.
    const manager = spawn('pnpm', ['exec', 'tsx', '--tsconfig', tsconfig, fixture, lab.sshConfigPath, marker, ...hosts], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<void>((resolve) => manager.once('exit', () => resolve()));
    const stderr: string[] = [];
    manager.stderr.on('data', (c: Buffer) => stderr.push(c.toString()));
    try {
      const ready = await new Promise<string>((resolve, reject) => {
        const lines = createInterface({ input: manager.stdout });
        lines.on('line', (line) => {
          if (line.startsWith('READY ')) resolve(line.slice('READY '.length));
        });
        void exited.then(() => reject(new Error(`the manager exited before READY: ${stderr.join('')}`)));
      });
      const { pid, started } = JSON.parse(ready) as { pid: number; started: { host: string; pid: number; workingDir: string }[] };
      expect(started.map((s) => s.host)).toEqual(hosts);
      for (const s of started) {
        expect(await processesWith(lab, s.host, marker)).toHaveLength(1);
        expect(await existsOnHost(lab, s.host, s.workingDir)).toBe(true);
      }
      const agents = started.map((s) => ({ ...s, agentPid: parentPidOrFail(s.pid) }));

      process.kill(-manager.pid!, 'SIGKILL');
      await exited;
      await waitFor(() => !pidAlive(pid), { timeoutMs: 5000, what: `the manager process ${pid} to die` });

      for (const s of agents) {
        await waitFor(
          async () => (await processesWith(lab, s.host, marker)).length === 0 && !pidAlive(s.agentPid) && !(await existsOnHost(lab, s.host, s.workingDir)),
          { timeoutMs: 5000, what: `the sleep, agent and temp dir on ${s.host} to be gone` },
        );
      }
    } finally {
      if (manager.exitCode === null && manager.signalCode === null) process.kill(-manager.pid!, 'SIGKILL');
      await exited;
    }
  });
});

function parentPidOrFail(pid: number): number {
  const parent = parentPid(pid);
  if (parent === undefined) throw new Error(`process ${pid} is gone, so its agent cannot be found`);
  return parent;
}
