import { execFile, spawn } from 'node:child_process';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLab, type LabHost } from '@lazycluster/lab';
import { NoRuntimesDetectedError, RuntimeManager } from './index.js';
import { tempDir } from '../test/lab-helpers.js';

const lab = await readLab();
const hostNames = lab.hosts.map((h) => h.name);
const h2 = lab.hosts.find((h) => h.name === 'h2') as LabHost;
// Generous: on a loaded 2-core machine a healthy lab host can take seconds to answer.
const TIMEOUT_MS = 10_000;

let dir: Awaited<ReturnType<typeof tempDir>>;
let tarpit: Server;
const held = new Set<Socket>();
let sshConfigPath: string;
let manager: RuntimeManager;
let detectMs: number;

beforeAll(async () => {
  dir = await tempDir('lzc-manager-');
  const wrongKey = join(dir.path, 'not_authorized');
  await promisify(execFile)('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', wrongKey]);
  // Accepts connections and never says a word: only detect()'s own timeout ends the check.
  tarpit = createServer((socket) => {
    held.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => tarpit.listen({ host: '127.0.0.1', port: 0 }, resolve));
  sshConfigPath = join(dir.path, 'ssh_config');
  await writeFile(
    sshConfigPath,
    [
      'Host tarpit',
      '  HostName 127.0.0.1',
      `  Port ${(tarpit.address() as AddressInfo).port}`,
      '  User root',
      '  ConnectTimeout 120',
      'Host ghost',
      `  HostName ${lab.subnet}.250`,
      '  User root',
      `  IdentityFile ${lab.identityFile}`,
      'Host badkey',
      `  HostName ${lab.hosts[0]!.address}`,
      '  User root',
      `  IdentityFile ${wrongKey}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${lab.knownHostsPath}`,
      'Host *',
      `  Include ${lab.sshConfigPath}`,
      '',
    ].join('\n'),
  );
  const started = Date.now();
  manager = await RuntimeManager.detect({ sshConfigPath, agent: false, timeoutMs: TIMEOUT_MS });
  detectMs = Date.now() - started;
});

afterAll(async () => {
  await manager.cleanup();
  for (const socket of held) socket.destroy();
  await new Promise<void>((resolve) => tarpit.close(() => resolve()));
  await dir[Symbol.asyncDispose]();
});

async function groupHosts(options: Parameters<RuntimeManager['createGroup']>[0]): Promise<string[]> {
  await using group = await manager.createGroup(options);
  return group.hosts;
}

describe('RuntimeManager.detect on the lab', () => {
  it('keeps the lab hosts active, in config order, with what each reported', () => {
    expect(manager.activeHosts).toEqual(hostNames);
    expect(manager.infos.map((info) => info.host)).toEqual(hostNames);
    for (const info of manager.infos) {
      expect(info.pythonVersion).toMatch(/^3\./);
      expect(info.cpuCores).toBeGreaterThanOrEqual(1);
    }
  });

  it('marks a silent, an unreachable and a key-refusing host inactive, with the reason, within its timeout', () => {
    expect(manager.inactiveHosts.map((h) => h.host)).toEqual(['tarpit', 'ghost', 'badkey']);
    const [silent, ghost, badkey] = manager.inactiveHosts;
    expect(silent?.reason).toBe(`no answer within ${TIMEOUT_MS} ms`);
    expect(ghost?.reason).toMatch(/no answer within|EHOSTUNREACH|timed out/i);
    expect(badkey?.reason).toMatch(/Authentication/);
    expect(badkey?.reason).toContain('not_authorized');
    // Every host is checked at once: the whole detection takes one timeout, not one per host.
    expect(detectMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(detectMs).toBeLessThan(TIMEOUT_MS + 3000);
  });
});

describe('RuntimeManager.createGroup on the lab', () => {
  it('filters by CPU cores', async () => {
    const cores = Math.min(...manager.infos.map((info) => info.cpuCores));
    expect(await groupHosts({ minCpuCores: cores })).toEqual(hostNames);
    await expect(manager.createGroup({ minCpuCores: cores + 1 })).rejects.toBeInstanceOf(NoRuntimesDetectedError);
  });

  it('filters by memory and GPUs', async () => {
    const memory = Math.min(...manager.infos.map((info) => info.memoryBytes));
    expect(await groupHosts({ minMemory: memory })).toEqual(hostNames);
    await expect(manager.createGroup({ minMemory: memory * 1024 })).rejects.toBeInstanceOf(NoRuntimesDetectedError);
    await expect(manager.createGroup({ gpuRequired: true })).rejects.toBeInstanceOf(NoRuntimesDetectedError);
  });

  it('filters by installed executables', async () => {
    expect(await groupHosts({ installedExecutables: ['python3'] })).toEqual(hostNames);
    const error = await manager.createGroup({ installedExecutables: ['python3', 'no-such-exe'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoRuntimesDetectedError);
    expect(error).toMatchObject({ code: 'NO_RUNTIMES_DETECTED', sshConfigPath });
    // The message tells which hosts discovery left out and why.
    expect((error as Error).message).toContain('ghost');
    expect((error as Error).message).toContain('tarpit');
    expect((error as Error).message).toContain('badkey');
  });

  it('filters by commands that must succeed on the host', async () => {
    expect(await groupHosts({ filterCommands: [`hostname -I | grep -qw ${h2.address}`] })).toEqual(['h2']);
    expect(await groupHosts({ filterCommands: ['true', 'test -d /tmp'] })).toEqual(hostNames);
  });

  it('includes and excludes hosts by name', async () => {
    expect(await groupHosts({ excludeHosts: ['h1'] })).toEqual(['h2', 'h3']);
    expect(await groupHosts({ includeHosts: ['h3', 'ghost', 'tarpit'] })).toEqual(['h3']);
    await expect(manager.createGroup({ includeHosts: ['h1'], excludeHosts: ['h1'] })).rejects.toBeInstanceOf(NoRuntimesDetectedError);
  });

  it("gives the group's runtimes the workingDir asked for", async () => {
    const workingDir = `/tmp/lzc-manager-wd-${Date.now()}`;
    await using group = await manager.createGroup({ includeHosts: ['h1'], workingDir });
    try {
      expect((await group.getRuntime('h1').run('pwd')).stdout.trim()).toBe(workingDir);
    } finally {
      await group.getRuntime('h1').run(['rm', '-rf', workingDir]);
    }
  });

  it('leaves nothing open: a program that cleans up only its group exits on its own', async () => {
    const fixture = fileURLToPath(new URL('../test/fixtures/detect-and-exit.ts', import.meta.url));
    const tsconfig = fileURLToPath(new URL('../test/fixtures/tsx.tsconfig.json', import.meta.url));
    const child = spawn('pnpm', ['exec', 'tsx', '--tsconfig', tsconfig, fixture, sshConfigPath, h2.address, String(TIMEOUT_MS)], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    // A program kept alive by a forgotten connection would run on; give up (and fail) after 45 s.
    const guard = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 45_000);
    try {
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
      expect({ code, signal, stderr: Buffer.concat(err).toString() }).toEqual({ code: 0, signal: null, stderr: '' });
      expect(JSON.parse(Buffer.concat(out).toString())).toEqual([['h2', h2.address]]);
    } finally {
      clearTimeout(guard);
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
    }
  });
});
