// Helpers shared by the runtime's integration tests: runtimes on the lab's hosts, polling
// instead of sleeping, temp dirs and SSH configs that clean up after themselves, and the
// facts about a host's process table the cleanup tests assert on.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execOnHost, hostProcesses, type HostProcess, type LabDescription } from '@lazycluster/lab';
import { Runtime, type RuntimeOptions } from '../src/index.js';

/** A runtime on a lab host, through the lab's SSH config and never an ssh-agent. */
export function labRuntime(lab: LabDescription, host: string, options: RuntimeOptions = {}): Runtime {
  return new Runtime(host, { sshConfigPath: lab.sshConfigPath, agent: false, ...options });
}

/** A word no other test (or earlier run) puts on a command line: tags processes so they can be found. */
export function uniqueMarker(prefix = 'lzctest'): string {
  return `${prefix}${randomBytes(6).toString('hex')}`;
}

/**
 * Poll `probe` until it returns something other than undefined/false, or fail after
 * `timeoutMs` with `what` and the last value seen.
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

/** A temp directory on the manager, removed on dispose. */
export async function tempDir(prefix = 'lzc-rt-test-'): Promise<{ path: string } & AsyncDisposable> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return {
    path,
    async [Symbol.asyncDispose]() {
      await rm(path, { recursive: true, force: true });
    },
  };
}

/** A port the OS hands out on the manager's loopback right now. */
export async function osPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Candidates for port negotiation: a random run of `count` ports below the ephemeral range,
 * so test files running at the same time on the same hosts rarely ask for the same ones.
 */
export function randomCandidates(count = 50): number[] {
  const start = 20_000 + Math.floor(Math.random() * 12_000);
  return Array.from({ length: count }, (_, i) => start + i);
}

/** Processes on `host` whose command line contains `marker`. */
export async function processesWith(lab: LabDescription, host: string, marker: string): Promise<HostProcess[]> {
  return (await hostProcesses(lab, host)).filter((p) => p.args.includes(marker));
}

/** True while `pid` runs (a zombie counts as gone; the lab's hosts share the manager's pid namespace). */
export function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The parent pid of `pid`, read from /proc; undefined when it is gone. */
export function parentPid(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/**
 * The processes that serve one runtime's connection on its host: the runtime agent (the
 * parent of every command it starts) and the sshd session process above it. Found from a
 * command's `$PPID`, so the test needs no access to internals.
 */
export async function connectionProcesses(runtime: Runtime): Promise<{ agentPid: number; sessionPid: number }> {
  const { stdout } = await runtime.run('echo $PPID');
  const agentPid = Number(stdout.trim());
  const sessionPid = parentPid(agentPid);
  if (!Number.isInteger(agentPid) || sessionPid === undefined) throw new Error(`cannot find the agent of ${runtime.host} (got "${stdout}")`);
  return { agentPid, sessionPid };
}

/** Whether `path` exists on `host` (its own /tmp), looked at without SSH. */
export async function existsOnHost(lab: LabDescription, host: string, path: string): Promise<boolean> {
  return (await execOnHost(lab, host, ['test', '-e', path])).exitCode === 0;
}

/** Write `text` to `name` inside `dir` and return the full path. */
export async function writeIn(dir: string, name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

/**
 * An SSH config in a temp dir that overrides settings for some lab hosts and then
 * `Include`s the lab's own config (OpenSSH keeps the first value it sees, so the lines
 * written here win). Removed on dispose.
 */
export async function overridingSshConfig(
  lab: LabDescription,
  blocks: string,
): Promise<{ path: string; dir: string } & AsyncDisposable> {
  const dir = await tempDir('lzc-ssh-config-');
  const path = join(dir.path, 'ssh_config');
  // An Include inside a Host block applies to that block only; `Host *` makes it unconditional.
  await writeFile(path, `${blocks.trim()}\n\nHost *\n  Include ${lab.sshConfigPath}\n`, { mode: 0o600 });
  return { path, dir: dir.path, [Symbol.asyncDispose]: dir[Symbol.asyncDispose] };
}
