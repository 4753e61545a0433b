// Helpers of the Dask fault tests: what a cluster started (from its events), Python work run
// against it from the manager, and the check that nothing of it is left anywhere.
//
// NOTE: packages/dask/tsconfig.json has rootDir ".", so these tests cannot import
// tooling/reliability/src/lab-faults.ts (the runtime tests' copy of the generic helpers); the
// few generic ones they need are repeated here, kept to the same names and behaviour.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execOnHost, hostProcesses, labDown, labUp, LabInUseError, type LabDescription } from '@lazycluster/lab';
import type { DaskCluster } from '../../src/index.js';

/** What one fault test saw; `pnpm reliability` prints one table row per observation. */
export interface FaultObservation {
  readonly fault: string;
  readonly expected: string;
  readonly observed: string;
  readonly detectMs?: number | undefined;
  readonly leftovers: number;
}

declare module 'vitest' {
  interface TaskMeta {
    /** Set by {@link recordFault}; read back from vitest's JSON report by `pnpm reliability`. */
    fault?: FaultObservation;
  }
}

/** Attach what a fault test observed to the test, for the JSON report. */
export function recordFault(task: { meta: { fault?: FaultObservation } }, observation: FaultObservation): void {
  task.meta.fault = observation;
}

/** Runs a program (never through a shell); rejects with its stderr when it exits non-zero. */
export async function run(file: string, args: readonly string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return await new Promise<string>((resolve, reject) => {
    execFile(file, args, { timeout: options.timeoutMs ?? 60_000, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: options.env ?? process.env }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} failed: ${stderr.trim() || error.message}`, { cause: error }));
      else resolve(stdout);
    });
  });
}

/** Polls `probe` until it returns something other than undefined/false; rejects after `timeoutMs`. */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 10_000, intervalMs = 50, what = 'a condition' }: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** True while `pid` runs; a zombie counts as gone. Lab hosts share the manager's pid namespace. */
export function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** One TCP listener, with the pids that hold it (`ss -Htlnp`). */
export interface Listener {
  readonly address: string;
  readonly port: number;
  readonly pids: readonly number[];
}

/** Parses `ss -Htln` / `ss -Htlnp` output. */
export function parseListeners(ssOutput: string): Listener[] {
  const listeners: Listener[] = [];
  for (const line of ssOutput.split('\n')) {
    const local = line.trim().split(/\s+/)[3];
    if (local === undefined) continue;
    const colon = local.lastIndexOf(':');
    const port = Number(local.slice(colon + 1));
    const pids = [...line.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
    if (colon > 0 && Number.isInteger(port)) listeners.push({ address: local.slice(0, colon).replace(/%.*$/, ''), port, pids });
  }
  return listeners;
}

/** The TCP listeners of the manager (root namespace) with their pids. */
export async function managerListeners(): Promise<Listener[]> {
  return parseListeners(await run('ss', ['-Htlnp']));
}

/** True for an address only the machine itself can reach. */
export function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '[::1]' || address === '::1';
}

/**
 * A master port and worker ports starting at one the OS just handed out, so that test files
 * running at the same time on the shared loopback do not all reach for 8786 and 61001.
 */
export async function portsFromOs(count = 30): Promise<{ masterPort: number; ports: number[] }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const first = Math.min((server.address() as AddressInfo).port, 65_535 - count);
  await new Promise((resolve) => server.close(resolve));
  return { masterPort: first, ports: Array.from({ length: count - 1 }, (_, i) => first + 1 + i) };
}

/** Every pid and port a cluster started, collected from its events (also after they exit). */
export interface Footprint {
  readonly pids: number[];
  readonly ports: number[];
}

export function track(cluster: DaskCluster): Footprint {
  const footprint: Footprint = { pids: [], ports: [] };
  cluster.on('master-started', ({ pid, port }) => {
    footprint.pids.push(pid);
    footprint.ports.push(port);
  });
  cluster.on('worker-started', ({ pid, port }) => {
    footprint.pids.push(pid);
    footprint.ports.push(port);
  });
  return footprint;
}

/**
 * What is left of a footprint: live pids, Dask processes on the lab's hosts, and listeners
 * on its ports on the manager or any host. Empty when the cluster left nothing behind.
 */
export async function leftovers(lab: LabDescription, footprint: Footprint): Promise<string[]> {
  const found: string[] = footprint.pids.filter(pidAlive).map((pid) => `pid ${pid} alive`);
  for (const listener of await managerListeners()) {
    if (footprint.ports.includes(listener.port)) found.push(`manager listens on ${listener.address}:${listener.port}`);
  }
  for (const { name } of lab.hosts) {
    for (const p of await hostProcesses(lab, name)) {
      if (footprint.pids.includes(p.pid)) found.push(`${name}: pid ${p.pid} ${p.args.slice(0, 80)}`);
    }
    const ss = await execOnHost(lab, name, ['ss', '-Htln']);
    for (const listener of parseListeners(ss.stdout)) {
      if (footprint.ports.includes(listener.port)) found.push(`${name} listens on ${listener.address}:${listener.port}`);
    }
  }
  return found;
}

/** Waits until nothing of the footprint is left, and returns what is left when it gives up. */
export async function settleLeftovers(lab: LabDescription, footprint: Footprint, timeoutMs = 15_000): Promise<string[]> {
  let last: string[] = [];
  try {
    await waitFor(
      async () => {
        last = await leftovers(lab, footprint);
        return last.length === 0;
      },
      { timeoutMs, intervalMs: 200, what: 'nothing of the cluster to be left' },
    );
  } catch {
    // The caller asserts on what is left.
  }
  return last;
}

// Runs on the manager with the cluster's env: `Client()` finds the scheduler by itself.
// Each task returns its input squared and the name of the worker that ran it.
const MAP_SCRIPT = `
import json, sys
from distributed import Client, get_worker

def square(i):
    return i * i, get_worker().name

n = int(sys.argv[1])
with Client(timeout=30) as client:
    print(json.dumps(client.gather(client.map(square, range(n), pure=False))))
`;

/** Maps `n` squares over the cluster from Python on the manager; checks every result. */
export async function mapSquares(cluster: DaskCluster, n = 50, timeoutMs = 60_000): Promise<{ workers: Set<string>; ms: number }> {
  const started = performance.now();
  const stdout = await run('/usr/bin/python3', ['-c', MAP_SCRIPT, String(n)], { env: { ...process.env, ...cluster.env }, timeoutMs });
  const results = JSON.parse(stdout) as [number, string][];
  if (results.length !== n) throw new Error(`${results.length} results for ${n} tasks`);
  results.forEach(([value], i) => {
    if (value !== i * i) throw new Error(`task ${i} returned ${value}, not ${i * i}`);
  });
  return { workers: new Set(results.map(([, name]) => name)), ms: performance.now() - started };
}

/** `h2-4` ran on h2. */
export function hostOfWorker(name: string): string {
  return name.slice(0, name.lastIndexOf('-'));
}

/** A lab of its own for one test file (prefix lzf<k>, subnet 10.219.<k>), removed on dispose. */
export type FaultLab = LabDescription & AsyncDisposable;

export async function startFaultLab(hosts: number): Promise<FaultLab> {
  const problems: string[] = [];
  for (let k = 1; k <= 12; k++) {
    const options = { prefix: `lzf${k}`, subnet: `10.219.${k}`, owner: process.pid };
    let lab: LabDescription;
    try {
      lab = await labUp(hosts, options);
    } catch (error) {
      if (error instanceof LabInUseError || (error instanceof Error && /already used by interface/.test(error.message))) {
        problems.push(error.message);
        continue;
      }
      throw error;
    }
    return Object.assign(lab, {
      async [Symbol.asyncDispose](): Promise<void> {
        await labDown({ prefix: lab.prefix, subnet: lab.subnet, stateDir: lab.stateDir, owner: process.pid });
      },
    });
  }
  throw new Error(`no free private lab slot (lzf1..lzf12): ${problems.join('; ')}`);
}

/** The manager-side end of the host's veth pair (lab.sh names it `<prefix>-v<i>`). */
export function vethOf(lab: LabDescription, host: string): string {
  const index = /^h(\d+)$/.exec(host)?.[1];
  if (index === undefined || !lab.hosts.some((h) => h.name === host)) throw new Error(`the lab ${lab.prefix} has no host ${host}`);
  return `${lab.prefix}-v${index}`;
}

/**
 * An SSH config whose `blocks` come first and then includes the lab's own config for
 * everything else (OpenSSH keeps the first value it sees). Removed on dispose.
 */
export async function sshConfigOverriding(lab: LabDescription, blocks: string): Promise<{ path: string } & AsyncDisposable> {
  const dir = await mkdtemp(join(tmpdir(), 'lzc-reliability-ssh-'));
  const path = join(dir, 'ssh_config');
  // An Include inside a Host block applies to that block only; `Host *` makes it unconditional.
  await writeFile(path, `${blocks.trim()}\n\nHost *\n  Include ${lab.sshConfigPath}\n`, { mode: 0o600 });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Every process on every host of a private lab except the lab's sshd listeners. */
export async function everyLabProcess(lab: LabDescription): Promise<string[]> {
  const perHost = await Promise.all(lab.hosts.map(async (h) => (await hostProcesses(lab, h.name)).map((p) => `${h.name}: ${p.pid} ${p.args.slice(0, 80)}`)));
  return perHost.flat();
}

/** A slowed and lossy network to some hosts, undone on dispose. */
export interface Impairment extends AsyncDisposable {
  /** How it was made, for the report. */
  readonly how: string;
  /** SSH config blocks the test must put first ('' when the kernel does all of it). */
  readonly sshConfigBlocks: string;
}

/**
 * `delayMs` more on every packet from the manager to each host and `lossPercent` of packets
 * lost both ways. With sch_netem in the kernel that is `tc qdisc add dev <veth> root netem
 * delay ... loss ...`. Kernels built without netem get the same two faults another way: real
 * random drops by a classic-BPF filter on the veth whose matches are redirected to an ifb
 * device that is down, and the delay from a TCP relay on the manager in front of the host's
 * sshd (everything lazycluster sends a host in 'tunnel' mode goes over SSH).
 */
export async function impairNetwork(lab: LabDescription, hosts: readonly string[], spec: { delayMs: number; lossPercent: number }): Promise<Impairment> {
  const undo: (() => Promise<unknown>)[] = [];
  const dispose = async (): Promise<void> => {
    for (const step of undo.reverse()) await step().catch(() => undefined);
  };
  try {
    const netem = await run('tc', ['qdisc', 'add', 'dev', vethOf(lab, hosts[0] ?? ''), 'root', 'netem', 'delay', `${spec.delayMs}ms`, 'loss', `${spec.lossPercent}%`]).then(
      () => true,
      (error: unknown) => {
        if (error instanceof Error && /unknown/i.test(error.message)) return false;
        throw error;
      },
    );
    if (netem) {
      undo.push(async () => await run('tc', ['qdisc', 'del', 'dev', vethOf(lab, hosts[0] ?? ''), 'root']));
      for (const host of hosts.slice(1)) {
        await run('tc', ['qdisc', 'add', 'dev', vethOf(lab, host), 'root', 'netem', 'delay', `${spec.delayMs}ms`, 'loss', `${spec.lossPercent}%`]);
        undo.push(async () => await run('tc', ['qdisc', 'del', 'dev', vethOf(lab, host), 'root']));
      }
      return { how: 'tc netem', sshConfigBlocks: '', [Symbol.asyncDispose]: dispose };
    }
    // A packet matches (and is dropped) when a random 32-bit number is below the threshold.
    const threshold = Math.round((spec.lossPercent / 100) * 2 ** 32);
    const randomBelow = `4,32 0 0 ${0xfffff000 + 56},53 0 1 ${threshold},6 0 0 0,6 0 0 4294967295`;
    const blocks: string[] = [];
    for (const host of hosts) {
      const veth = vethOf(lab, host);
      const sink = veth.replace('-v', '-x');
      await run('ip', ['link', 'add', sink, 'type', 'ifb']);
      undo.push(async () => await run('ip', ['link', 'del', sink]));
      await run('tc', ['qdisc', 'add', 'dev', veth, 'clsact']);
      undo.push(async () => await run('tc', ['qdisc', 'del', 'dev', veth, 'clsact']));
      for (const direction of ['egress', 'ingress']) {
        await run('tc', ['filter', 'add', 'dev', veth, direction, 'bpf', 'bytecode', randomBelow, 'action', 'mirred', 'egress', 'redirect', 'dev', sink]);
      }
      const address = lab.hosts.find((h) => h.name === host)?.address ?? '';
      const relay = await delayRelay(address, 22, spec.delayMs);
      undo.push(relay.close);
      blocks.push(`Host ${host}\n  HostName 127.0.0.1\n  Port ${relay.port}\n  HostKeyAlias ${host}`);
    }
    return { how: 'tc cBPF drops + delaying relay (no sch_netem in this kernel)', sshConfigBlocks: blocks.join('\n'), [Symbol.asyncDispose]: dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}

/** Packets dropped so far by the loss filters of `host` (0 under netem, which counts its own). */
export async function droppedPackets(lab: LabDescription, host: string): Promise<number> {
  const out = await run('tc', ['-s', 'filter', 'show', 'dev', vethOf(lab, host), 'egress']).catch(() => '');
  const inbound = await run('tc', ['-s', 'filter', 'show', 'dev', vethOf(lab, host), 'ingress']).catch(() => '');
  return [...`${out}\n${inbound}`.matchAll(/Sent \d+ bytes (\d+) pkt/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}

/** A TCP relay on the manager's loopback to address:port that holds every byte towards it for `delayMs`. */
async function delayRelay(address: string, port: number, delayMs: number): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect({ host: address, port });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    // Same delay for every chunk: timers of equal duration fire in order, so bytes stay in order.
    client.on('data', (chunk: Buffer) => setTimeout(() => upstream.write(chunk), delayMs));
    client.on('end', () => setTimeout(() => upstream.end(), delayMs));
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    upstream.on('end', () => client.end());
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
