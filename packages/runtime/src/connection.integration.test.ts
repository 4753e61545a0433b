import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { readLab, type LabHost } from '@lazycluster/lab';
import { AuthenticationError, ConnectionError, HostKeyMismatchError, Runtime } from './index.js';
import {
  connectionProcesses,
  existsOnHost,
  labRuntime,
  overridingSshConfig,
  pidAlive,
  processesWith,
  tempDir,
  uniqueMarker,
  waitFor,
} from '../test/lab-helpers.js';

const lab = await readLab();
const h1 = lab.hosts.find((h) => h.name === 'h1') as LabHost;
const h2 = lab.hosts.find((h) => h.name === 'h2') as LabHost;
const knownHosts = await readFile(lab.knownHostsPath, 'utf8');

/** The known_hosts line the lab wrote for `host`. */
function knownHostsLine(host: LabHost): string {
  const line = knownHosts.split('\n').find((l) => l.startsWith(`${host.address},`));
  if (line === undefined) throw new Error(`no known_hosts line for ${host.name}`);
  return line;
}

/** A config that sends h1 through `knownHostsFile` (and ConnectTimeout 2), everything else as in the lab. */
async function h1WithKnownHosts(knownHostsFile: string, extra = ''): Promise<Awaited<ReturnType<typeof overridingSshConfig>>> {
  return await overridingSshConfig(lab, `Host h1\n  UserKnownHostsFile ${knownHostsFile}\n  ConnectTimeout 2\n${extra}`);
}

/** Runs a command that would leave a file behind, to prove no command ran. */
async function expectNoCommandRan(runtime: Runtime, host: string, expected: abstract new (...args: never[]) => Error): Promise<void> {
  const witness = `/tmp/${uniqueMarker('witness')}`;
  await expect(runtime.exec(['touch', witness])).rejects.toBeInstanceOf(expected);
  expect(await existsOnHost(lab, host, witness)).toBe(false);
}

describe('Runtime connection on the lab', () => {
  it('connects through the SSH config and reads info() in one round trip, cached', async () => {
    await using rt = labRuntime(lab, 'h1');
    const info = await rt.info();
    expect(info).toMatchObject({ host: 'h1', gpus: [] });
    expect(info.os).toMatch(/^Linux/);
    expect(info.cpuCores).toBeGreaterThanOrEqual(1);
    expect(info.memoryBytes).toBeGreaterThan(64 * 1024 * 1024);
    expect(info.pythonVersion).toMatch(/^3\.\d+\.\d+$/);
    expect(await rt.info()).toBe(info);
  });

  it('reuses one connection for every command', async () => {
    await using rt = labRuntime(lab, 'h2');
    const first = await connectionProcesses(rt);
    await Promise.all(Array.from({ length: 5 }, async () => await rt.run('true')));
    expect(await connectionProcesses(rt)).toEqual(first);
  });

  it('connects to user@address:port with the options instead of an alias', async () => {
    await using config = await overridingSshConfig(lab, `Host ${h2.address}\n  UserKnownHostsFile ${lab.knownHostsPath}`);
    await using rt = new Runtime(`root@${h2.address}:22`, { sshConfigPath: config.path, identityFile: lab.identityFile, agent: false });
    const { stdout } = await rt.run('hostname -I');
    expect(stdout).toContain(h2.address);
  });

  it('goes through a ProxyJump host', async () => {
    await using config = await overridingSshConfig(
      lab,
      `Host h2-via-h1\n  HostName ${h2.address}\n  User root\n  IdentityFile ${lab.identityFile}\n  UserKnownHostsFile ${lab.knownHostsPath}\n  ProxyJump h1`,
    );
    await using rt = new Runtime('h2-via-h1', { sshConfigPath: config.path, agent: false });
    const { stdout } = await rt.run('echo "$SSH_CONNECTION"');
    // The connection reaches h2 from h1's address, not the manager's.
    expect(stdout.split(' ')[0]).toBe(h1.address);
    expect(stdout.split(' ')[2]).toBe(h2.address);
  });

  it('refuses a host whose key differs from known_hosts with HostKeyMismatchError before any command runs', async () => {
    await using dir = await tempDir();
    const wrong = join(dir.path, 'known_hosts');
    // h1's names with h2's key: same key type, other bytes.
    const h2Key = knownHostsLine(h2).split(' ').slice(1).join(' ');
    await writeFile(wrong, `${h1.address},h1 ${h2Key}\n`);
    await using config = await h1WithKnownHosts(wrong);
    await using rt = new Runtime('h1', { sshConfigPath: config.path, agent: false });
    const error = await rt.connect().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostKeyMismatchError);
    expect(error).toMatchObject({ code: 'HOST_KEY_MISMATCH', reason: 'mismatch', host: h1.address, port: 22, file: wrong, line: 1, keyType: 'ssh-ed25519' });
    expect((error as Error).message).toContain('ssh-keygen -R');
    await expectNoCommandRan(rt, 'h1', HostKeyMismatchError);
  });

  it("refuses an unknown host under 'strict' with HostKeyMismatchError reason 'unknown'", async () => {
    await using dir = await tempDir();
    const empty = join(dir.path, 'known_hosts');
    await writeFile(empty, '');
    await using config = await h1WithKnownHosts(empty);
    await using rt = new Runtime('h1', { sshConfigPath: config.path, agent: false, hostKeyPolicy: 'strict' });
    const error = await rt.connect().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostKeyMismatchError);
    expect(error).toMatchObject({ reason: 'unknown', host: h1.address });
    expect((error as HostKeyMismatchError).files).toContain(empty);
    await expectNoCommandRan(rt, 'h1', HostKeyMismatchError);
    expect(await readFile(empty, 'utf8')).toBe('');
  });

  it("records an unknown host's key under 'accept-new', then connects under 'strict'", async () => {
    await using dir = await tempDir();
    const file = join(dir.path, 'known_hosts');
    await writeFile(file, '');
    await using config = await h1WithKnownHosts(file);
    {
      await using rt = new Runtime('h1', { sshConfigPath: config.path, agent: false, hostKeyPolicy: 'accept-new' });
      expect((await rt.run('echo hi')).stdout).toBe('hi\n');
    }
    const recorded = await readFile(file, 'utf8');
    const labKey = knownHostsLine(h1).split(' ').slice(1).join(' ');
    expect(recorded).toContain(labKey);
    await using strict = new Runtime('h1', { sshConfigPath: config.path, agent: false, hostKeyPolicy: 'strict' });
    expect((await strict.run('echo again')).stdout).toBe('again\n');
  });

  it('honours StrictHostKeyChecking accept-new from the SSH config', async () => {
    await using dir = await tempDir();
    const file = join(dir.path, 'known_hosts');
    await writeFile(file, '');
    await using config = await h1WithKnownHosts(file, '  StrictHostKeyChecking accept-new\n');
    await using rt = new Runtime('h1', { sshConfigPath: config.path, agent: false });
    await rt.connect();
    expect(await readFile(file, 'utf8')).toContain(knownHostsLine(h1).split(' ')[2]);
  });

  it('fails with AuthenticationError naming the key file when the server refuses the key', async () => {
    await using dir = await tempDir();
    const key = join(dir.path, 'not_authorized');
    await promisify(execFile)('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    const path = join(dir.path, 'ssh_config');
    await writeFile(
      path,
      `Host h1\n  HostName ${h1.address}\n  User root\n  IdentityFile ${key}\n  IdentitiesOnly yes\n  UserKnownHostsFile ${lab.knownHostsPath}\n`,
    );
    await using rt = new Runtime('h1', { sshConfigPath: path, agent: false });
    const error = await rt.connect().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error).toMatchObject({ code: 'AUTHENTICATION', host: 'h1', user: 'root', keyFiles: [key] });
    expect((error as Error).message).toContain(key);
  });

  it('fails fast with ConnectionError when nothing listens on the port', async () => {
    await using config = await overridingSshConfig(lab, 'Host h1\n  Port 1\n  ConnectTimeout 2');
    await using rt = new Runtime('h1', { sshConfigPath: config.path, agent: false });
    const started = Date.now();
    const error = await rt.exec('true').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).toMatchObject({ code: 'CONNECTION', host: 'h1', address: h1.address, port: 1 });
    expect((error as Error).message).toMatch(/ECONNREFUSED|refused/i);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('fails with ConnectionError within ConnectTimeout when no host has the address', async () => {
    const nobody = `${lab.subnet}.250`;
    await using config = await overridingSshConfig(lab, `Host ghost\n  HostName ${nobody}\n  User root\n  ConnectTimeout 2`);
    await using rt = new Runtime('ghost', { sshConfigPath: config.path, agent: false });
    const started = Date.now();
    const error = await rt.exec('true').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).toMatchObject({ host: 'ghost', address: nobody });
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('fails running commands with ConnectionError when the connection drops, and reconnects on the next exec', async () => {
    await using rt = labRuntime(lab, 'h1');
    const marker = `1000.${Date.now() % 1_000_000}`;
    const proc = await rt.spawn(['sleep', marker]);
    const running = rt.exec(['sleep', `${marker}1`]);
    const before = await connectionProcesses(rt);
    await waitFor(async () => (await processesWith(lab, 'h1', marker)).length === 2, { what: 'both sleeps to start' });

    // Kill the sshd session process that carries our connection, as a network failure would.
    process.kill(before.sessionPid, 'SIGKILL');

    await expect(proc.exited).rejects.toBeInstanceOf(ConnectionError);
    const error = await running.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).toMatchObject({ host: 'h1' });
    // The agent saw its stdin close and stopped what it had started.
    await waitFor(async () => (await processesWith(lab, 'h1', marker)).length === 0 && !pidAlive(before.agentPid), {
      what: 'the old agent and its sleeps to be gone',
    });

    const { stdout } = await rt.run('echo back');
    expect(stdout).toBe('back\n');
    const after = await connectionProcesses(rt);
    expect(after.agentPid).not.toBe(before.agentPid);
    expect(after.sessionPid).not.toBe(before.sessionPid);
  });
});
