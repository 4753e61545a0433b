// The manager killed with SIGKILL while its Dask cluster runs (no exit handler can run):
// within 15 s no process it started is left on any host or on the manager, no temp working
// dir is left, and none of its ports (scheduler, workers, tunnels) listens anywhere.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { execOnHost, hostProcesses, readLab } from '@lazycluster/lab';
import { managerListeners, parseListeners, pidAlive, portsFromOs, recordFault, waitFor } from './support.js';

const lab = await readLab();
const hosts = lab.hosts.slice(0, 3).map((h) => h.name);
const LIMIT_MS = 15_000;

interface Ready {
  readonly pid: number;
  readonly master: { host: string; port: number; pid: number };
  readonly workers: { host: string; port: number; pid: number }[];
  readonly workingDirs: { host: string; dir: string }[];
}

async function parentOf(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat === undefined ? undefined : Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** Everything of the dead manager still there, described; empty when it left nothing. */
async function remains(ready: Ready, pids: readonly number[], ports: readonly number[]): Promise<string[]> {
  const found = pids.filter(pidAlive).map((pid) => `pid ${pid} alive`);
  for (const l of await managerListeners()) if (ports.includes(l.port)) found.push(`manager listens on ${l.address}:${l.port}`);
  for (const host of hosts) {
    for (const l of parseListeners((await execOnHost(lab, host, ['ss', '-Htln'])).stdout)) if (ports.includes(l.port)) found.push(`${host} listens on ${l.address}:${l.port}`);
    for (const p of await hostProcesses(lab, host)) if (pids.includes(p.pid)) found.push(`${host}: ${p.pid} ${p.args.slice(0, 60)}`);
  }
  for (const { host, dir } of ready.workingDirs) {
    if ((await execOnHost(lab, host, ['test', '-e', dir])).exitCode === 0) found.push(`${host}: ${dir} exists`);
  }
  return found;
}

/** How the manager dies: its own process alone (OOM killer, `kill -9 PID`), or its whole process group (a CI runner, `kill -9 -PGID`). */
type Kill = 'process' | 'group';

async function killManagerAndWatch(kill: Kill): Promise<{ cleanMs: number; left: string[]; pids: number; ports: number; dirs: number }> {
  const { masterPort, ports } = await portsFromOs();
  const fixture = fileURLToPath(new URL('fixtures/doomed-manager.ts', import.meta.url));
  const tsconfig = fileURLToPath(new URL('fixtures/tsx.tsconfig.json', import.meta.url));
  // Its own process group (pnpm, tsx and the manager), as a shell job would be.
  const manager = spawn('pnpm', ['exec', 'tsx', '--tsconfig', tsconfig, fixture, lab.sshConfigPath, [masterPort, ...ports].join(','), ...hosts], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => manager.once('exit', () => resolve()));
  const stderr: string[] = [];
  manager.stderr.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  let pids: number[] = [];
  try {
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: manager.stdout }).on('line', (l) => {
        if (l.startsWith('READY ')) resolve(l.slice('READY '.length));
      });
      void exited.then(() => reject(new Error(`the manager exited before READY: ${stderr.join('')}`)));
    });
    const ready = JSON.parse(line) as Ready;
    expect(ready.workers.map((w) => w.host).sort()).toEqual(hosts);
    // The processes it started: scheduler, workers, and the runtime agents that own them.
    const started = [ready.master.pid, ...ready.workers.map((w) => w.pid)];
    const agents = (await Promise.all(started.map(parentOf))).filter((pid): pid is number => pid !== undefined);
    pids = [...started, ...agents];
    const portsUsed = [ready.master.port, ...ready.workers.map((w) => w.port)];
    expect(pids.every(pidAlive)).toBe(true);
    expect((await managerListeners()).some((l) => l.port === ready.master.port)).toBe(true);

    const killedAt = performance.now();
    process.kill(kill === 'group' ? -(manager.pid ?? 0) : ready.pid, 'SIGKILL');
    await exited;
    await waitFor(() => !pidAlive(ready.pid), { what: 'the manager to die' });

    let left: string[] = [];
    await waitFor(
      async () => {
        left = await remains(ready, pids, portsUsed);
        return left.length === 0;
      },
      { timeoutMs: LIMIT_MS, intervalMs: 200, what: 'nothing of the killed manager to be left' },
    ).catch(() => undefined);
    return { cleanMs: performance.now() - killedAt, left, pids: pids.length, ports: portsUsed.length, dirs: ready.workingDirs.length };
  } finally {
    if (manager.exitCode === null && manager.signalCode === null) process.kill(-(manager.pid ?? 0), 'SIGKILL');
    await exited;
    // When the library failed, the test still leaves nothing behind.
    for (const pid of pids.filter(pidAlive)) process.kill(pid, 'SIGKILL');
  }
}

describe('the manager killed with SIGKILL while its Dask cluster runs', () => {
  for (const kill of ['process', 'group'] as const) {
    it(`leaves no process, temp dir or listener anywhere within ${LIMIT_MS / 1000} s (SIGKILL to its ${kill === 'process' ? 'process' : 'process group'})`, async ({ task }) => {
      const { cleanMs, left, pids, ports, dirs } = await killManagerAndWatch(kill);
      expect(left).toEqual([]);
      expect(cleanMs).toBeLessThan(LIMIT_MS);
      recordFault(task, {
        fault: `manager SIGKILL (${kill})`,
        expected: `nothing left within ${LIMIT_MS / 1000} s`,
        observed: `${pids} processes, ${ports} ports, ${dirs} dirs gone in ${Math.round(cleanMs)} ms`,
        detectMs: cleanMs,
        leftovers: left.length,
      });
    });
  }
});
