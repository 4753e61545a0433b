import { spawn } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './internal/run.js';
import type { RunResult } from './internal/run.js';

/** The bash script that does the work; this module only calls it. */
export const LAB_SCRIPT: string = fileURLToPath(new URL('../lab.sh', import.meta.url));

/** One lab host, as in `lab.json`. */
export interface LabHost {
  /** `h1`, `h2`, ... */
  readonly name: string;
  /** The `Host` alias in the lab's ssh_config (the same as `name`). */
  readonly alias: string;
  /** The host's IPv4 address on the lab bridge. */
  readonly address: string;
  /** The network namespace, `<prefix>-h<i>`. */
  readonly netns: string;
  /** The host's sshd listener (a process in the manager's pid namespace). */
  readonly sshdPid: number;
}

/** A running lab: the content of `lab.json`. */
export interface LabDescription {
  readonly prefix: string;
  /** The first three octets of the lab's /24. */
  readonly subnet: string;
  /** The manager's address as the hosts see it (the bridge). */
  readonly managerAddress: string;
  readonly stateDir: string;
  /** An OpenSSH client config with one `Host h<i>` block per host. */
  readonly sshConfigPath: string;
  readonly knownHostsPath: string;
  /** The lab's client private key (ed25519, no passphrase). */
  readonly identityFile: string;
  readonly hosts: readonly LabHost[];
}

/** Which lab: leave all unset for the default one (or `LAB_PREFIX`/`LAB_SUBNET`/`LAB_STATE`). */
export interface LabOptions {
  /**
   * Namespace and interface name prefix, 1–8 lowercase letters or digits.
   * @default 'lzc'
   */
  readonly prefix?: string;
  /**
   * First three octets of the lab's /24.
   * @default '10.213.0'
   */
  readonly subnet?: string;
  /**
   * Where keys, configs and lab.json live (never under /tmp).
   * @default '/var/lib/lazycluster-lab' for prefix lzc, else '/var/lib/lazycluster-lab-<prefix>'
   */
  readonly stateDir?: string;
  /**
   * The pid of the process that holds the lab. While it lives, `labUp`/`labDown` from any
   * other process reject with {@link LabInUseError} instead of pulling the lab from under it.
   * @default undefined (nobody holds it)
   */
  readonly owner?: number;
}

/** `labUp`/`labDown` refused: another live process holds the lab (see {@link LabOptions.owner}). */
export class LabInUseError extends Error {
  override readonly name = 'LabInUseError';
}

/** One process in a host's network namespace. */
export interface HostProcess {
  readonly pid: number;
  /** Its command line as `ps` shows it. */
  readonly args: string;
}

/** The outcome of a command run on a lab host; a non-zero exit is a result, not a rejection. */
export type HostCommandResult = RunResult;

/** A process started with {@link spawnOnHost}; disposing it kills it and waits for its exit. */
export type HostChildProcess = ChildProcess & AsyncDisposable;

function scriptEnv(options: LabOptions = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (options.prefix !== undefined) env.LAB_PREFIX = options.prefix;
  if (options.subnet !== undefined) env.LAB_SUBNET = options.subnet;
  if (options.stateDir !== undefined) env.LAB_STATE = options.stateDir;
  if (options.owner !== undefined) env.LAB_OWNER_PID = String(options.owner);
  return env;
}

function labEnv(lab: LabDescription): NodeJS.ProcessEnv {
  return scriptEnv({ prefix: lab.prefix, subnet: lab.subnet, stateDir: lab.stateDir });
}

function parseLab(text: string, source: string): LabDescription {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`${source} is not valid JSON; run "pnpm lab up N" again`, { cause: error });
  }
  if (!isLabDescription(parsed)) {
    throw new Error(`${source} does not describe a lab (missing fields); run "pnpm lab up N" again`);
  }
  return parsed;
}

function isLabDescription(value: unknown): value is LabDescription {
  if (typeof value !== 'object' || value === null) return false;
  const lab = value as Record<string, unknown>;
  const strings = ['prefix', 'subnet', 'managerAddress', 'stateDir', 'sshConfigPath', 'knownHostsPath', 'identityFile'];
  return (
    strings.every((key) => typeof lab[key] === 'string') &&
    Array.isArray(lab.hosts) &&
    lab.hosts.every((host: unknown) => {
      if (typeof host !== 'object' || host === null) return false;
      const h = host as Record<string, unknown>;
      return ['name', 'alias', 'address', 'netns'].every((key) => typeof h[key] === 'string') && typeof h.sshdPid === 'number';
    })
  );
}

// lab.sh exits with 75 (EX_TEMPFAIL) when another live process holds the lab.
const EXIT_IN_USE = 75;

function failure(what: string, result: RunResult): Error {
  const detail = result.stderr.trim() || result.stdout.trim() || `exit code ${result.exitCode}`;
  const message = `${what} failed (exit code ${result.exitCode}): ${detail}`;
  return result.exitCode === EXIT_IN_USE ? new LabInUseError(message) : new Error(message);
}

function hostOf(lab: LabDescription, hostName: string): LabHost {
  const host = lab.hosts.find((h) => h.name === hostName || h.alias === hostName);
  if (host === undefined) {
    const names = lab.hosts.map((h) => h.name).join(', ');
    throw new Error(`the lab ${lab.prefix} has no host "${hostName}" (it has ${names})`);
  }
  return host;
}

/**
 * Creates the lab with `hosts` hosts, first clearing whatever an earlier run with the same
 * prefix left behind, and resolves once every host's sshd accepts connections.
 * @example
 * const lab = await labUp(3, { prefix: 'lzt', subnet: '10.214.0' });
 */
export async function labUp(hosts: number, options: LabOptions = {}): Promise<LabDescription> {
  if (!Number.isInteger(hosts) || hosts < 1) {
    throw new Error(`labUp needs a whole number of hosts >= 1, got ${hosts}`);
  }
  const result = await run('bash', [LAB_SCRIPT, 'up', String(hosts)], { env: scriptEnv(options) });
  if (result.exitCode !== 0) throw failure(`lab.sh up ${hosts}`, result);
  return parseLab(result.stdout, 'the output of lab.sh up');
}

/** Removes every process, namespace, interface and the state dir of the lab; idempotent. */
export async function labDown(options: LabOptions = {}): Promise<void> {
  const result = await run('bash', [LAB_SCRIPT, 'down'], { env: scriptEnv(options) });
  if (result.exitCode !== 0) throw failure('lab.sh down', result);
}

/**
 * The path of a lab's `lab.json`. Without options: `$LAZYCLUSTER_LAB_JSON` when set (the
 * vitest global setup sets it), else the default state dir, as lab.sh chooses it.
 */
export function labJsonPath(options: LabOptions = {}): string {
  const noOptions = options.prefix === undefined && options.subnet === undefined && options.stateDir === undefined;
  const fromEnv = process.env.LAZYCLUSTER_LAB_JSON;
  if (noOptions && fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const prefix = options.prefix ?? process.env.LAB_PREFIX ?? 'lzc';
  const stateDir =
    options.stateDir ??
    process.env.LAB_STATE ??
    (prefix === 'lzc' ? '/var/lib/lazycluster-lab' : `/var/lib/lazycluster-lab-${prefix}`);
  return join(stateDir, 'lab.json');
}

/** Reads the description of a running lab (see {@link labJsonPath} for which one). */
export async function readLab(options: LabOptions = {}): Promise<LabDescription> {
  const path = labJsonPath(options);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new Error(`the lab is down: cannot read ${path}; start it with "pnpm lab up N"`, { cause: error });
  }
  return parseLab(text, path);
}

/** Every process in the host's network namespace except the lab's own sshd listener. */
export async function hostProcesses(lab: LabDescription, hostName: string): Promise<HostProcess[]> {
  const host = hostOf(lab, hostName);
  const result = await run('bash', [LAB_SCRIPT, 'pids', host.name], { env: labEnv(lab) });
  if (result.exitCode !== 0) throw failure(`lab.sh pids ${host.name}`, result);
  const processes: HostProcess[] = [];
  for (const line of result.stdout.split('\n')) {
    const match = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (match?.[1] === undefined || match[2] === undefined) continue;
    const pid = Number(match[1]);
    if (pid !== host.sshdPid) processes.push({ pid, args: match[2] });
  }
  return processes;
}

/**
 * Runs `argv` inside the host's network and mount namespaces (its own /tmp), without SSH.
 * @example
 * const { stdout } = await execOnHost(lab, 'h1', ['ls', '/tmp']);
 */
export async function execOnHost(
  lab: LabDescription,
  hostName: string,
  argv: readonly string[],
  options: { readonly input?: string; readonly timeoutMs?: number } = {},
): Promise<HostCommandResult> {
  const host = hostOf(lab, hostName);
  if (argv.length === 0) throw new Error('execOnHost needs a command');
  return run('bash', [LAB_SCRIPT, 'exec', host.name, ...argv], { env: labEnv(lab), ...options });
}

/**
 * Starts `argv` inside the host's network and mount namespaces and returns it at once, e.g.
 * to hold a listener open on a host. Its pid is the command's own (lab.sh and nsenter exec
 * into it), so killing the child kills the command. `await using` kills it with SIGKILL.
 */
export function spawnOnHost(
  lab: LabDescription,
  hostName: string,
  argv: readonly string[],
  options: Omit<SpawnOptions, 'env' | 'shell'> = {},
): HostChildProcess {
  const host = hostOf(lab, hostName);
  if (argv.length === 0) throw new Error('spawnOnHost needs a command');
  const child = spawn('bash', [LAB_SCRIPT, 'exec', host.name, ...argv], { ...options, env: labEnv(lab) });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('close', () => resolve()).once('error', () => resolve());
  });
  return Object.assign(child, {
    async [Symbol.asyncDispose](): Promise<void> {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  });
}

/** The TCP ports (IPv4 and IPv6) something listens on in the host's network namespace. */
export async function listeningPortsOnHost(lab: LabDescription, hostName: string): Promise<number[]> {
  const result = await execOnHost(lab, hostName, ['ss', '-H', '-t', '-l', '-n']);
  if (result.exitCode !== 0) throw failure(`ss on ${hostName}`, result);
  return parseListeningPorts(result.stdout);
}

/** Parses `ss -Htln` output into sorted, distinct port numbers. */
export function parseListeningPorts(ssOutput: string): number[] {
  const ports = new Set<number>();
  for (const line of ssOutput.split('\n')) {
    const local = line.trim().split(/\s+/)[3];
    const port = local === undefined ? Number.NaN : Number(local.slice(local.lastIndexOf(':') + 1));
    if (Number.isInteger(port) && port > 0) ports.add(port);
  }
  return [...ports].sort((a, b) => a - b);
}

/**
 * Runs `command` on the host with the OpenSSH client and the lab's ssh_config (BatchMode).
 * @example
 * const { exitCode } = await sshToHost(lab, 'h1', 'true');
 */
export async function sshToHost(
  lab: LabDescription,
  hostName: string,
  command: string,
  options: { readonly sshOptions?: readonly string[]; readonly input?: string; readonly timeoutMs?: number } = {},
): Promise<HostCommandResult> {
  const host = hostOf(lab, hostName);
  const sshOptions = (options.sshOptions ?? []).flatMap((option) => ['-o', option]);
  return run('ssh', ['-F', lab.sshConfigPath, '-o', 'BatchMode=yes', ...sshOptions, host.alias, command], {
    ...(options.input === undefined ? {} : { input: options.input }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
}
