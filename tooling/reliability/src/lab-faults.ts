// Fault injection on the lab, shared by the reliability tests of every package and by the
// load run: private labs that a destructive fault cannot share with other test files, link
// cuts and netem on a host's veth, process and listener inspection, and the observation
// record that `pnpm reliability` turns into its table.
//
// Only node:* and @lazycluster/lab are imported here, so any package's tests can import this
// file by its relative path without pulling a second copy of the libraries under test.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {} from 'vitest';
import { LabInUseError, hostProcesses, labDown, labUp, type HostProcess, type LabDescription, type LabHost } from '@lazycluster/lab';

/** What one fault test saw; `pnpm reliability` prints one table row per observation. */
export interface FaultObservation {
  /** The fault injected, e.g. `worker SIGKILL`. */
  readonly fault: string;
  /** The outcome the library promises. */
  readonly expected: string;
  /** What happened, in a few words (the test fails when it differs from `expected`). */
  readonly observed: string;
  /** From the fault to the library reporting it, when that is what the test measures. */
  readonly detectMs?: number | undefined;
  /** Processes, directories or listeners the fault left behind (the tests assert zero). */
  readonly leftovers: number;
}

declare module 'vitest' {
  interface TaskMeta {
    /** Set by {@link recordFault}; read back from vitest's JSON report by `pnpm reliability`. */
    fault?: FaultObservation;
  }
}

/**
 * Attach what a fault test observed to the test, for the JSON report. Call it once the
 * assertions that back `observed` have passed.
 */
export function recordFault(task: { meta: { fault?: FaultObservation } }, observation: FaultObservation): void {
  task.meta.fault = observation;
}

/** Runs a program (never through a shell); rejects with its stderr when it exits non-zero. */
export async function run(file: string, args: readonly string[], options: { timeoutMs?: number } = {}): Promise<string> {
  return await new Promise<string>((resolve, reject) => {
    execFile(file, args, { timeout: options.timeoutMs ?? 30_000, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(' ')} failed: ${stderr.trim() || error.message}`, { cause: error }));
      else resolve(stdout);
    });
  });
}

/**
 * Polls `probe` until it returns something other than undefined/false; rejects after
 * `timeoutMs` naming `what`.
 */
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

/** How long `promise` takes to settle, and how it settled. */
export async function timed<T>(promise: Promise<T>): Promise<{ ms: number } & ({ ok: true; value: T } | { ok: false; error: unknown })> {
  const started = performance.now();
  try {
    const value = await promise;
    return { ms: performance.now() - started, ok: true, value };
  } catch (error) {
    return { ms: performance.now() - started, ok: false, error };
  }
}

// Private labs: prefix lzf<k> on 10.219.<k>.0/24. Another live run holding slot k makes
// lab.sh refuse it (LabInUseError), and the next slot is tried.
const FAULT_LAB_SLOTS = 12;

/** A lab of its own for one test file, removed on dispose. */
export type FaultLab = LabDescription & AsyncDisposable;

/**
 * Brings up a private lab of `hosts` hosts for faults that would break other test files
 * sharing the common lab (a cut link, netem, a dead sshd), owned by this process.
 */
export async function startFaultLab(hosts: number): Promise<FaultLab> {
  const problems: string[] = [];
  for (let k = 1; k <= FAULT_LAB_SLOTS; k++) {
    const options = { prefix: `lzf${k}`, subnet: `10.219.${k}`, owner: process.pid };
    let lab: LabDescription;
    try {
      lab = await labUp(hosts, options);
    } catch (error) {
      // In use by another live run, or the subnet is taken by someone else's interface.
      if (error instanceof LabInUseError || (error instanceof Error && /already used by interface/.test(error.message))) {
        problems.push(`lzf${k}: ${error.message}`);
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
  throw new Error(`no free private lab slot (lzf1..lzf${FAULT_LAB_SLOTS}): ${problems.join('; ')}`);
}

function labHost(lab: LabDescription, host: string): LabHost & { index: number } {
  const found = lab.hosts.find((h) => h.name === host || h.alias === host);
  const index = Number(/^h(\d+)$/.exec(found?.name ?? '')?.[1]);
  if (found === undefined || !Number.isInteger(index)) throw new Error(`the lab ${lab.prefix} has no host ${host}`);
  return { ...found, index };
}

/** The manager-side end of the host's veth pair (lab.sh names it `<prefix>-v<i>`). */
export function vethOf(lab: LabDescription, host: string): string {
  return `${lab.prefix}-v${labHost(lab, host).index}`;
}

/** A fault that is undone on dispose (and can be undone earlier, once). */
export interface Fault extends AsyncDisposable {
  /** Undo the fault now; later calls and the dispose do nothing. */
  undo(): Promise<void>;
}

function fault(undoOnce: () => Promise<void>): Fault {
  let undone: Promise<void> | undefined;
  const undo = async (): Promise<void> => {
    undone ??= undoOnce();
    await undone;
  };
  return { undo, [Symbol.asyncDispose]: undo };
}

/** Takes the host's link down in the root namespace (`ip link set <veth> down`): the host drops off the network. */
export async function cutLink(lab: LabDescription, host: string): Promise<Fault> {
  const veth = vethOf(lab, host);
  await run('ip', ['link', 'set', veth, 'down']);
  return fault(async () => {
    await run('ip', ['link', 'set', veth, 'up']);
    // The bridge port forwards again once it is up (forward_delay 0); wait until the host answers.
    await waitFor(async () => await tcpReachable(labHost(lab, host).address, 22), { timeoutMs: 10_000, what: `${host} to answer again after its link came back` });
  });
}

/** Delay and loss on the host's veth (traffic from the manager to the host), as `tc qdisc ... netem`. */
export async function addNetem(lab: LabDescription, host: string, spec: { delayMs: number; lossPercent: number }): Promise<Fault> {
  const veth = vethOf(lab, host);
  await run('tc', ['qdisc', 'add', 'dev', veth, 'root', 'netem', 'delay', `${spec.delayMs}ms`, 'loss', `${spec.lossPercent}%`]);
  return fault(async () => {
    await run('tc', ['qdisc', 'del', 'dev', veth, 'root']);
  });
}

/** The netem settings on a veth as `tc` shows them ('' when none). */
export async function netemOn(lab: LabDescription, host: string): Promise<string> {
  const out = await run('tc', ['qdisc', 'show', 'dev', vethOf(lab, host)]);
  return out.split('\n').filter((line) => line.includes('netem')).join('\n');
}

async function tcpReachable(address: string, port: number): Promise<boolean> {
  const { createConnection } = await import('node:net');
  return await new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: address, port, timeout: 500 });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
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

/** The parent of `pid`, read from /proc; undefined when it is gone. */
export function parentPid(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** Processes on `host` whose command line contains `marker`. */
export async function processesWith(lab: LabDescription, host: string, marker: string): Promise<HostProcess[]> {
  return (await hostProcesses(lab, host)).filter((p) => p.args.includes(marker));
}

/**
 * Every process of every host of a private lab, except the lab's sshd listeners: in a lab
 * only this test uses, all of them are leftovers once the test's work is cleaned up.
 */
export async function everyLabProcess(lab: LabDescription): Promise<(HostProcess & { host: string })[]> {
  const perHost = await Promise.all(lab.hosts.map(async (h) => (await hostProcesses(lab, h.name)).map((p) => ({ ...p, host: h.name }))));
  return perHost.flat();
}

/** One TCP listener as `ss -Htln` reports it. */
export interface Listener {
  /** The local address without the port: `127.0.0.1`, `[::1]`, `0.0.0.0`, `*`, `10.219.1.11`... */
  readonly address: string;
  readonly port: number;
}

/** Parses `ss -Htln` output. */
export function parseListeners(ssOutput: string): Listener[] {
  const listeners: Listener[] = [];
  for (const line of ssOutput.split('\n')) {
    const local = line.trim().split(/\s+/)[3];
    if (local === undefined) continue;
    const colon = local.lastIndexOf(':');
    const port = Number(local.slice(colon + 1));
    if (colon > 0 && Number.isInteger(port)) listeners.push({ address: local.slice(0, colon).replace(/%.*$/, ''), port });
  }
  return listeners;
}

/** The TCP listeners on the manager (the root namespace). */
export async function managerListeners(): Promise<Listener[]> {
  return parseListeners(await run('ss', ['-Htln']));
}

/** True for an address that only the machine itself can reach. */
export function isLoopback(address: string): boolean {
  return address === '127.0.0.1' || address.startsWith('127.') || address === '[::1]' || address === '::1';
}

/** A temp directory on the manager, removed on dispose. */
export async function managerTempDir(prefix = 'lzc-reliability-'): Promise<{ path: string } & AsyncDisposable> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return {
    path,
    async [Symbol.asyncDispose]() {
      await rm(path, { recursive: true, force: true });
    },
  };
}

/**
 * An SSH config whose `blocks` come first and then includes the lab's own config for
 * everything else (OpenSSH keeps the first value it sees, so the lines given here win).
 */
export async function sshConfigOverriding(lab: LabDescription, blocks: string): Promise<{ path: string; dir: string } & AsyncDisposable> {
  const dir = await managerTempDir('lzc-reliability-ssh-');
  const path = join(dir.path, 'ssh_config');
  // An Include inside a Host block applies to that block only; `Host *` makes it unconditional.
  await writeFile(path, `${blocks.trim()}\n\nHost *\n  Include ${lab.sshConfigPath}\n`, { mode: 0o600 });
  return { path, dir: dir.path, [Symbol.asyncDispose]: dir[Symbol.asyncDispose] };
}

/** A word no other test puts on a command line, to find the processes a test started. */
export function uniqueMarker(prefix = 'lzfault'): string {
  return `${prefix}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}

/** `sleep` seconds that double as a marker on the command line (`sleep 1000.123456`). */
export function markedSleepSeconds(): string {
  return `1000.${Date.now() % 1_000_000}${Math.floor(Math.random() * 1e6)}`;
}
