import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostProcesses, readLab, type LabDescription } from '@lazycluster/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finish, runCli, startCli } from './cli-process.js';

let lab: LabDescription;
let dir: string;

beforeAll(async () => {
  lab = await readLab();
  dir = await mkdtemp(join(tmpdir(), 'lazycluster-cli-it-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const address = (host: string): string => lab.hosts.find((h) => h.name === host)?.address ?? '';

describe('list-runtimes', () => {
  it('reports every lab host as active with its facts in --json', async () => {
    const result = await runCli(['--ssh-config', lab.sshConfigPath, 'list-runtimes', '--json']);
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout) as { active: Record<string, unknown>[]; inactive: unknown[] };
    expect(json.inactive).toEqual([]);
    expect(json.active.map((a) => a.host)).toEqual(lab.hosts.map((h) => h.alias));
    for (const host of json.active) {
      expect(Object.keys(host).sort()).toEqual(['cpuCores', 'gpus', 'host', 'memoryBytes', 'os', 'pythonVersion']);
      expect(host).toMatchObject({ os: expect.stringMatching(/^Linux/), cpuCores: expect.any(Number), memoryBytes: expect.any(Number), pythonVersion: expect.stringMatching(/^3\./), gpus: [] });
      expect(host.cpuCores).toBeGreaterThan(0);
      expect(host.memoryBytes).toBeGreaterThan(0);
    }
  });

  it('prints an aligned table with --long', async () => {
    const result = await runCli(['list-runtimes', '--long', '--ssh-config', lab.sshConfigPath]);
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^HOST\s+OS\s+CORES\s+MEMORY\s+PYTHON\s+GPUS$/);
    expect(lines.slice(1).map((line) => line.split(/\s+/)[0])).toEqual(lab.hosts.map((h) => h.alias));
    const osColumn = (lines[0]?.indexOf(' OS') ?? -2) + 1;
    for (const line of lines.slice(1)) expect(line.indexOf('Linux')).toBe(osColumn);
  });

  it('lists a host that refuses connections as inactive, with the reason', async () => {
    const config = join(dir, 'with-dead-host');
    const text = await readFile(lab.sshConfigPath, 'utf8');
    await writeFile(config, `${text}\nHost dead\n  HostName ${address('h1')}\n  Port 1\n`);
    const json = await runCli(['--ssh-config', config, 'list-runtimes', '--json']);
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as { active: { host: string }[]; inactive: { host: string; reason: string }[] };
    expect(parsed.active).toHaveLength(lab.hosts.length);
    expect(parsed.inactive).toEqual([{ host: 'dead', reason: expect.stringMatching(/dead .*port 1.*refused|Nothing listens/) }]);
    const plain = await runCli(['--ssh-config', config, 'list-runtimes']);
    expect(plain.stdout).toMatch(/^dead\s+inactive\s+SSH connection to dead/m);
  });
});

describe('add-runtime and delete-runtime', () => {
  const original = [
    '# My hosts. Keep this comment.',
    '',
    'Host old   ',
    '\tHostName 192.0.2.10',
    '\tUser=someone',
    '',
    '',
    '# Everything else',
    'Host *',
    '  ServerAliveInterval 30',
    '',
  ].join('\n');

  it('adds a usable runtime before `Host *`, then removes it, giving back the file byte for byte', async () => {
    const config = join(dir, 'round-trip');
    await writeFile(config, original);
    await chmod(config, 0o640);
    const h1 = lab.hosts[0];
    const added = await runCli([
      '--ssh-config', config, 'add-runtime', 'node1', `root@${h1?.address ?? ''}:22`,
      '--id-file', lab.identityFile, '--option', `UserKnownHostsFile=${lab.knownHostsPath}`, '--option', 'StrictHostKeyChecking=yes',
    ]);
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    expect(added.stdout).toContain(`Added node1 (root@${h1?.address ?? ''}:22)`);
    const text = await readFile(config, 'utf8');
    const block = `Host node1\n  HostName ${h1?.address ?? ''}\n  User root\n  Port 22\n  IdentityFile ${lab.identityFile}\n  UserKnownHostsFile ${lab.knownHostsPath}\n  StrictHostKeyChecking yes\n`;
    expect(text).toBe(original.replace('# Everything else', `${block}\n# Everything else`));
    expect((await stat(config)).mode & 0o777).toBe(0o640);

    const listed = await runCli(['--ssh-config', config, 'list-runtimes', '--json']);
    const json = JSON.parse(listed.stdout) as { active: { host: string }[]; inactive: { host: string }[] };
    expect(json.active.map((a) => a.host)).toEqual(['node1']);
    expect(json.inactive.map((i) => i.host)).toEqual(['old']);

    const deleted = await runCli(['--ssh-config', config, 'delete-runtime', 'node1']);
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toContain('Removed node1');
    expect(await readFile(config, 'utf8')).toBe(original);
    expect((await stat(config)).mode & 0o777).toBe(0o640);
  });

  it('refuses a duplicate name with exit code 1 and leaves the file alone', async () => {
    const config = join(dir, 'duplicate');
    await writeFile(config, original);
    const result = await runCli(['--ssh-config', config, 'add-runtime', 'old', 'me@192.0.2.11']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^lazycluster: old is already a Host in .*delete-runtime old/);
    expect(await readFile(config, 'utf8')).toBe(original);
  });

  it('refuses malformed user@host:port and options with exit code 2', async () => {
    const config = join(dir, 'malformed');
    await writeFile(config, original);
    for (const [args, message] of [
      [['n', 'me@host:0'], /port 0 is outside 1-65535/],
      [['n', 'me@host:70000'], /port 70000 is outside/],
      [['n', 'me@host', '--option', 'NoSuchOption=1'], /Unknown SSH option "NoSuchOption"/],
      [['n', 'me@host', '--option', 'ProxyJump'], /expects KEY=VALUE/],
      [['bad name', 'me@host'], /Invalid runtime name/],
    ] as const) {
      const result = await runCli(['--ssh-config', config, 'add-runtime', ...args]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
    }
    expect(await readFile(config, 'utf8')).toBe(original);
  });

  it('refuses a missing key file with exit code 1', async () => {
    const config = join(dir, 'missing-key');
    await writeFile(config, original);
    const result = await runCli(['--ssh-config', config, 'add-runtime', 'n', 'me@host', '--id-file', join(dir, 'no-such-key')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/identity file .*no-such-key does not exist/);
  });

  it('creates a missing config with mode 0600 in a new 0700 directory', async () => {
    const config = join(dir, 'fresh', '.ssh', 'config');
    const result = await runCli(['--ssh-config', config, 'add-runtime', 'n', 'me@192.0.2.12:2222']);
    expect(result.code).toBe(0);
    expect(await readFile(config, 'utf8')).toBe('Host n\n  HostName 192.0.2.12\n  User me\n  Port 2222\n');
    expect((await stat(config)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'fresh', '.ssh'))).mode & 0o777).toBe(0o700);
  });

  it('says which hosts exist when deleting an unknown name, with exit code 1', async () => {
    const config = join(dir, 'unknown');
    await writeFile(config, original);
    const result = await runCli(['--ssh-config', config, 'delete-runtime', 'nope']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^lazycluster: No Host nope in .*hosts there: old/);
    expect(await readFile(config, 'utf8')).toBe(original);
  });
});

describe('exec', () => {
  it('runs on every host in parallel, each line prefixed with its host, the host shell expanding the command', async () => {
    const result = await runCli(['--ssh-config', lab.sshConfigPath, 'exec', '--', 'echo', '$(hostname -I)', ';', 'echo', 'done', '>&2']);
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n').sort();
    expect(lines).toEqual(lab.hosts.map((h) => `${h.alias} | ${h.address}`).sort());
    for (const host of lab.hosts) expect(result.stderr).toContain(`${host.alias} | done\n`);
    expect(result.stderr.trimEnd().split('\n').at(-1)).toBe(`exec: succeeded on all ${lab.hosts.length} hosts`);
  });

  it('exits 1 when the command fails on one host, naming it in the summary', async () => {
    const failing = lab.hosts[1];
    const result = await runCli(['--ssh-config', lab.sshConfigPath, 'exec', '--', `test "$(hostname -I | cut -d' ' -f1)" != ${failing?.address ?? ''} && echo fine`]);
    expect(result.code).toBe(1);
    expect(result.stdout.trimEnd().split('\n').sort()).toEqual(lab.hosts.filter((h) => h !== failing).map((h) => `${h.alias} | fine`).sort());
    expect(result.stderr).toContain(`exec: failed on 1 of ${lab.hosts.length} hosts: ${failing?.alias ?? ''} (exit code 1)`);
  });

  it('runs on the --hosts only, the manager included as localhost', async () => {
    const result = await runCli(['--ssh-config', lab.sshConfigPath, 'exec', '--hosts', 'h2,localhost', '--', 'hostname -I | wc -w']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^h2 {8}\| 1$/m);
    expect(result.stdout).toMatch(/^localhost \| \d+$/m);
  });

  it('reports a host that cannot be reached as failed, naming it and the fix', async () => {
    const result = await runCli(['--ssh-config', lab.sshConfigPath, 'exec', '--hosts', 'h1,nosuchhost', '--', 'true']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^nosuchhost \| SSH connection to nosuchhost .*not a Host in .*add-runtime nosuchhost/m);
    expect(result.stderr).toContain('exec: failed on 1 of 2 hosts: nosuchhost');
  });

  it('stops the command on every host on SIGINT and exits 130', async () => {
    // A unique sleep length marks this test's remote processes.
    const marker = `sleep ${1000 + Math.floor(Math.random() * 8000)}`;
    const child = startCli(['--ssh-config', lab.sshConfigPath, 'exec', '--', `echo started; ${marker}`]);
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if ((child.output.stdout.match(/started/g) ?? []).length === lab.hosts.length) resolve();
      };
      child.stdout?.on('data', check);
      check();
    });
    const running = await Promise.all(lab.hosts.map(async (h) => (await hostProcesses(lab, h.name)).filter((p) => p.args.includes(marker))));
    expect(running.every((procs) => procs.length > 0)).toBe(true);
    child.kill('SIGINT');
    const result = await finish(child);
    expect(result.code).toBe(130);
    const left = await Promise.all(lab.hosts.map(async (h) => (await hostProcesses(lab, h.name)).filter((p) => p.args.includes(marker))));
    expect(left.flat()).toEqual([]);
  });

  it('is a usage error without "--" or without a command', async () => {
    const missing = await runCli(['--ssh-config', lab.sshConfigPath, 'exec', 'hostname']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('needs the command after "--"');
    const empty = await runCli(['--ssh-config', lab.sshConfigPath, 'exec', '--']);
    expect(empty.code).toBe(2);
  });
});
