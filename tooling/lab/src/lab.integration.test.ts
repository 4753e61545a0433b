import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  execOnHost,
  hostProcesses,
  listeningPortsOnHost,
  readLab,
  spawnOnHost,
  sshToHost,
} from '@lazycluster/lab';
import type { LabDescription } from '@lazycluster/lab';
import { parseListeningPorts } from './lab.js';

const execFileAsync = promisify(execFile);

/** Resolves 'connected' or the socket error code (ECONNREFUSED, ...). */
function tryConnect(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 3000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve('timeout');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/** Polls `probe` every 25 ms until it returns a value, or fails after `timeoutMs`. */
async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function unique(): string {
  return randomBytes(6).toString('hex');
}

let lab: LabDescription;

beforeAll(async () => {
  lab = await readLab();
  expect(lab.hosts.length).toBeGreaterThanOrEqual(2);
});

describe('the lab started by the global setup', () => {
  it('answers on every host over the OpenSSH client with the lab ssh_config', async () => {
    const results = await Promise.all(lab.hosts.map((host) => sshToHost(lab, host.name, 'true')));
    expect(results.map((r) => r.exitCode)).toEqual(lab.hosts.map(() => 0));
  });

  it('runs each host\'s SSH sessions inside that host\'s network namespace', async () => {
    for (const host of lab.hosts) {
      const { stdout, exitCode } = await sshToHost(lab, host.name, 'ip -4 -o addr show');
      expect(exitCode).toBe(0);
      expect(stdout).toContain(`inet ${host.address}/24`);
      for (const other of lab.hosts.filter((h) => h !== host)) expect(stdout).not.toContain(`inet ${other.address}/`);
    }
  });

  it('lets a host reach the manager and the other hosts over the bridge', async () => {
    const [h1, h2] = lab.hosts;
    const probe = (address: string) => `exec 3<>/dev/tcp/${address}/22 && head -c 4 <&3`;
    const toH2 = await sshToHost(lab, h1!.name, `bash -c '${probe(h2!.address)}'`);
    expect(toH2.stdout).toBe('SSH-');
    const { stdout } = await execOnHost(lab, h1!.name, ['ip', '-4', 'route', 'get', lab.managerAddress]);
    expect(stdout).toContain(`dev eth0 src ${h1!.address}`);
  });

  it('has no route from a host to anything outside the lab subnet', async () => {
    const { exitCode, stderr } = await execOnHost(lab, lab.hosts[0]!.name, ['ip', '-4', 'route', 'get', '1.1.1.1']);
    expect(exitCode).not.toBe(0);
    expect(stderr).toMatch(/unreachable/i);
  });

  it('keeps a port listening on h1 to h1 alone, not h2 nor the manager', async () => {
    const [h1, h2] = lab.hosts;
    // Listens on the wildcard address so only the namespace keeps it from the others.
    const script =
      "const s = require('node:net').createServer(c => c.end('lab')); s.listen(0, '0.0.0.0', () => console.log(s.address().port));";
    await using listener = spawnOnHost(lab, h1!.name, [process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise<number>((resolve, reject) => {
      listener.stdout?.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
      listener.once('exit', (code) => reject(new Error(`listener on h1 exited with ${code}`)));
    });
    expect(Number.isInteger(port) && port > 0).toBe(true);

    expect(await listeningPortsOnHost(lab, h1!.name)).toContain(port);
    expect(await listeningPortsOnHost(lab, h2!.name)).not.toContain(port);
    const { stdout: managerListening } = await execFileAsync('ss', ['-H', '-t', '-l', '-n']);
    expect(parseListeningPorts(managerListening)).not.toContain(port);

    expect(await tryConnect(h1!.address, port)).toBe('connected');
    expect(await tryConnect(h2!.address, port)).toBe('ECONNREFUSED');
    expect(await tryConnect('127.0.0.1', port)).toBe('ECONNREFUSED');
    expect(await tryConnect(lab.managerAddress, port)).toBe('ECONNREFUSED');
  });

  it('gives every host its own /tmp: a file written on h1 is not on h2 nor the manager', async () => {
    const [h1, h2] = lab.hosts;
    const path = `/tmp/lab-isolation-${unique()}`;
    expect((await sshToHost(lab, h1!.name, `echo hello > ${path}`)).exitCode).toBe(0);

    expect((await sshToHost(lab, h1!.name, `cat ${path}`)).stdout).toBe('hello\n');
    expect((await execOnHost(lab, h1!.name, ['cat', path])).stdout).toBe('hello\n');
    expect((await sshToHost(lab, h2!.name, `test -e ${path}`)).exitCode).toBe(1);
    expect((await execOnHost(lab, h2!.name, ['test', '-e', path])).exitCode).toBe(1);
    expect(existsSync(path)).toBe(false);
  });

  it('checks host keys: a known_hosts with a wrong key for h1 fails verification', async () => {
    const [h1, h2] = lab.hosts;
    const knownHosts = await readFile(lab.knownHostsPath, 'utf8');
    const h2Key = knownHosts.split('\n').find((line) => line.startsWith(`${h2!.address},`))?.split(' ').slice(1).join(' ');
    expect(h2Key).toMatch(/^ssh-ed25519 /);
    const dir = await mkdtemp(join(tmpdir(), 'lab-known-hosts-'));
    try {
      const wrong = join(dir, 'known_hosts');
      await writeFile(wrong, `${h1!.address},${h1!.alias} ${h2Key!}\n`);
      const result = await sshToHost(lab, h1!.name, 'true', { sshOptions: [`UserKnownHostsFile=${wrong}`] });
      expect(result.exitCode).toBe(255);
      expect(result.stderr).toContain('Host key verification failed');

      await writeFile(wrong, '');
      const unknown = await sshToHost(lab, h1!.name, 'true', { sshOptions: [`UserKnownHostsFile=${wrong}`] });
      expect(unknown.exitCode).toBe(255);
      expect(unknown.stderr).toContain('Host key verification failed');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('lists a process started over ssh in hostProcesses of that host only', async () => {
    const [h1, h2] = lab.hosts;
    const marker = `${1000 + randomBytes(2).readUInt16BE(0)}.${randomBytes(1).readUInt8(0) + 1}`;
    const client = spawnSsh(lab, h1!.name, `exec sleep ${marker}`);
    let sleeper: number | undefined;
    try {
      const found = await waitFor('the sleep on h1', async () =>
        (await hostProcesses(lab, h1!.name)).find((p) => p.args === `sleep ${marker}`),
      );
      sleeper = found.pid;
      expect((await hostProcesses(lab, h2!.name)).some((p) => p.args.includes(marker))).toBe(false);
      const [sleeperNet, managerNet] = await Promise.all([readlink(`/proc/${found.pid}/ns/net`), readlink('/proc/self/ns/net')]);
      expect(sleeperNet).not.toBe(managerNet);
    } finally {
      client.kill('SIGKILL');
      // Closing the SSH channel does not stop a root session's command: end it here.
      if (sleeper !== undefined) process.kill(sleeper, 'SIGKILL');
    }
    await waitFor('the sleep to be gone', async () =>
      (await hostProcesses(lab, h1!.name)).some((p) => p.args === `sleep ${marker}`) ? undefined : true,
    );
  });

  it('leaves the lab sshd listener out of hostProcesses', async () => {
    const h1 = lab.hosts[0]!;
    const processes = await hostProcesses(lab, h1.name);
    expect(processes.some((p) => p.pid === h1.sshdPid)).toBe(false);
    const { stdout } = await execFileAsync('ip', ['netns', 'pids', h1.netns]);
    expect(stdout.split('\n')).toContain(String(h1.sshdPid));
  });

  it('rejects an unknown host name with the names it has', async () => {
    await expect(hostProcesses(lab, 'h999')).rejects.toThrow(/no host "h999" \(it has h1, h2/);
  });
});

function spawnSsh(labDescription: LabDescription, host: string, command: string) {
  return execFile('ssh', ['-F', labDescription.sshConfigPath, '-o', 'BatchMode=yes', host, command], () => undefined);
}
