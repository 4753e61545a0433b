// Everything the runtime creates is private, and nothing it says gives a secret away:
// temp dirs 0700, task logs 0600 in 0700 dirs, tunnels bound to loopback only (and not
// reachable from another host), env values never on a command line, and no private key text
// in any log line or error, however deep one looks.
import { readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { execOnHost, hostProcesses, readLab } from '@lazycluster/lab';
import { AuthenticationError, HostKeyMismatchError, Runtime, RuntimeGroup, RuntimeTask, type Logger } from '../../src/index.js';
import {
  isLoopback,
  managerListeners,
  managerTempDir,
  parseListeners,
  recordFault,
  run,
  sshConfigOverriding,
  uniqueMarker,
  waitFor,
  type Listener,
} from '../../../../tooling/reliability/src/lab-faults.js';

const lab = await readLab();
const address = (host: string): string => lab.hosts.find((h) => h.name === host)?.address ?? '';

function labRuntime(host: string, options: ConstructorParameters<typeof Runtime>[1] = {}): Runtime {
  return new Runtime(host, { sshConfigPath: lab.sshConfigPath, agent: false, ...options });
}

async function hostListeners(host: string): Promise<Listener[]> {
  const result = await execOnHost(lab, host, ['ss', '-Htln']);
  return parseListeners(result.stdout);
}

async function modeOnHost(host: string, path: string): Promise<string> {
  return (await execOnHost(lab, host, ['stat', '-c', '%a', path])).stdout.trim();
}

/** A TCP server on the manager's loopback that answers every connection with `reply`. */
async function replyServer(reply: string): Promise<Server & AsyncDisposable & { port: number }> {
  const server = createServer((socket) => socket.end(reply));
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  return Object.assign(server, {
    port: (server.address() as AddressInfo).port,
    async [Symbol.asyncDispose]() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}

/** Connects from inside `host` to address:port; resolves with what it read, or the error name. */
async function connectFrom(host: string, to: string, port: number): Promise<string> {
  const script = [
    'import socket, sys',
    's = socket.socket()',
    's.settimeout(3)',
    'try:',
    '    s.connect((sys.argv[1], int(sys.argv[2])))',
    '    sys.stdout.write("read:" + s.recv(100).decode())',
    'except OSError as e:',
    '    sys.stdout.write("error:" + type(e).__name__)',
  ].join('\n');
  return (await execOnHost(lab, host, ['/usr/bin/python3', '-c', script, to, String(port)])).stdout;
}

/** A port free on the manager's loopback right now. */
async function freeManagerPort(): Promise<number> {
  const server = await replyServer('');
  const { port } = server;
  await server[Symbol.asyncDispose]();
  return port;
}

/** A port free on the host right now, from the ephemeral range the OS would hand out. */
async function freePortOn(host: string): Promise<number> {
  const script = 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])';
  return Number((await execOnHost(lab, host, ['/usr/bin/python3', '-c', script])).stdout.trim());
}

describe('what the runtime creates is private', () => {
  it('makes temp working dirs 0700, on a host and on the manager', async () => {
    await using remote = labRuntime('h1');
    expect(await modeOnHost('h1', await remote.workingDir())).toBe('700');
    await using local = new Runtime('localhost');
    expect(((await stat(await local.workingDir())).mode & 0o777).toString(8)).toBe('700');
  });

  it('writes task logs as 0600 files in 0700 directories, and directories it creates for sendFile as 0700', async () => {
    await using logs = await managerTempDir();
    await using rt = labRuntime('h1', { logDir: logs.path });
    const task = new RuntimeTask('private-log').runCommand('echo secret-ish output');
    const run = await rt.executeTask(task);
    const file = run.logFile ?? '';
    expect(((await stat(file)).mode & 0o777).toString(8)).toBe('600');
    expect(((await stat(join(logs.path, 'execution_log'))).mode & 0o777).toString(8)).toBe('700');
    expect(((await stat(join(logs.path, 'execution_log', 'h1'))).mode & 0o777).toString(8)).toBe('700');

    const remote = await rt.sendFile(file, 'made/by/send/log.txt');
    const workingDir = await rt.workingDir();
    for (const dir of ['made', 'made/by', 'made/by/send']) expect(await modeOnHost('h1', `${workingDir}/${dir}`)).toBe('700');
    // The file keeps the mode of its source, as scp -p does: here the private log's 0600.
    expect(await modeOnHost('h1', remote)).toBe('600');
  });

  it('binds tunnels to loopback only, on the host, on the manager and across a group, and another host cannot connect', async ({ task }) => {
    await using service = await replyServer('from-manager');
    await using group = new RuntimeGroup({ hosts: ['h1', 'h2', 'h3'], sshConfigPath: lab.sshConfigPath, agent: false });
    const h1 = group.getRuntime('h1');

    // Manager -> h1.
    const toRuntimePort = await freePortOn('h1');
    const toRuntime = await h1.exposePortToRuntime(service.port, toRuntimePort);
    // h1 -> manager.
    await using h1Service = labRuntime('h1');
    const h1Port = await freePortOn('h1');
    await h1Service.spawn(['/usr/bin/python3', '-c', `import socket\ns = socket.socket()\ns.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\ns.bind(("127.0.0.1", ${h1Port}))\ns.listen()\nwhile True:\n    c, _ = s.accept(); c.sendall(b"from-h1"); c.close()`]);
    await waitFor(async () => (await hostListeners('h1')).some((l) => l.port === h1Port), { what: 'the service on h1 to listen' });
    const toManager = await h1.exposePortFromRuntime(h1Port, await freeManagerPort());
    // h1 -> every other runtime and the manager.
    const groupTunnel = await group.exposePortFromRuntimeToGroup('h1', h1Port);

    const exposures: { where: string; port: number; listeners: Listener[] }[] = [
      { where: 'h1', port: toRuntimePort, listeners: await hostListeners('h1') },
      { where: 'manager', port: toManager.listenPort, listeners: await managerListeners() },
      { where: 'h2', port: h1Port, listeners: await hostListeners('h2') },
      { where: 'h3', port: h1Port, listeners: await hostListeners('h3') },
      { where: 'manager', port: h1Port, listeners: await managerListeners() },
    ];
    let exposed = 0;
    for (const { where, port, listeners } of exposures) {
      const bound = listeners.filter((l) => l.port === port);
      expect(bound.length, `nothing listens on ${where}:${port}`).toBeGreaterThan(0);
      const open = bound.filter((l) => !isLoopback(l.address));
      exposed += open.length;
      expect(open, `${where}:${port} listens beyond loopback`).toEqual([]);
    }
    // They carry traffic on loopback, and another host reaching the address gets nothing.
    expect(await connectFrom('h1', '127.0.0.1', toRuntimePort)).toBe('read:from-manager');
    expect(await connectFrom('h2', '127.0.0.1', h1Port)).toBe('read:from-h1');
    expect(await connectFrom('h3', address('h1'), toRuntimePort)).toMatch(/^error:/);
    expect(await connectFrom('h3', address('h2'), h1Port)).toMatch(/^error:/);
    expect(await connectFrom('h2', lab.managerAddress, h1Port)).toMatch(/^error:/);

    await groupTunnel.close();
    await toManager.close();
    await toRuntime.close();
    recordFault(task, { fault: 'tunnel exposure', expected: 'loopback only, unreachable from other hosts', observed: `${exposures.length} listeners on loopback, ${exposed} beyond`, leftovers: exposed });
  });

  it('never puts env values on a command line the host\'s other users can read', async () => {
    await using rt = labRuntime('h2');
    const secret = uniqueMarker('token');
    const marker = `1000.${Date.now() % 1_000_000}`;
    rt.setEnv({ RUNTIME_TOKEN: `${secret}-runtime` });
    const proc = await rt.spawn(['sleep', marker], { env: { COMMAND_TOKEN: `${secret}-command` } });
    await waitFor(async () => (await hostProcesses(lab, 'h2')).some((p) => p.args.includes(marker)), { what: 'the sleep to start' });
    const leaking = (await hostProcesses(lab, 'h2')).filter((p) => p.args.includes(secret));
    expect(leaking).toEqual([]);
    // It is in the process's environment, readable by its owner only.
    const environ = await readFile(`/proc/${proc.pid}/environ`, 'utf8');
    expect(environ).toContain(`COMMAND_TOKEN=${secret}-command`);
    expect(environ).toContain(`RUNTIME_TOKEN=${secret}-runtime`);
    const environMode = (await run('stat', ['-c', '%a', `/proc/${proc.pid}/environ`])).trim();
    expect(environMode).toBe('400');
    await proc.stop();
  });
});

describe('no key material in logs or errors', () => {
  /** Everything a logger is told, every level. */
  function capturingLogger(lines: string[]): Logger {
    return {
      debug: (m) => lines.push(`debug ${m}`),
      info: (m) => lines.push(`info ${m}`),
      warn: (m) => lines.push(`warn ${m}`),
      error: (m) => lines.push(`error ${m}`),
    };
  }

  /** Every way a user or a log shipper might render an error, cause chain included. */
  function renderings(error: unknown): string[] {
    const out = [inspect(error, { depth: 20, showHidden: true }), String(error)];
    for (let e: unknown = error, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++) {
      out.push(e.message, e.stack ?? '', JSON.stringify(e, Object.getOwnPropertyNames(e)));
    }
    return out;
  }

  /** The secret parts of an OpenSSH private key file: its base64 body lines (the public half is not secret). */
  function secretLines(pem: string): string[] {
    return pem.split('\n').filter((line) => line.length >= 20 && !line.startsWith('-----'));
  }

  it('shows no private key text or passphrase in any log line or error, on success and on every failure path', async ({ task }) => {
    await using dir = await managerTempDir();
    const passphrase = uniqueMarker('passphrase');
    const stranger = join(dir.path, 'stranger_ed25519');
    const locked = join(dir.path, 'locked_ed25519');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'stranger', '-f', stranger]);
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', 'locked', '-f', locked]);
    const secrets = [
      ...secretLines(await readFile(lab.identityFile, 'utf8')),
      ...secretLines(await readFile(stranger, 'utf8')),
      ...secretLines(await readFile(locked, 'utf8')),
      passphrase,
    ];
    expect(secrets.length).toBeGreaterThan(6);

    const lines: string[] = [];
    const errors: unknown[] = [];
    const logger = capturingLogger(lines);

    // Success: connect, run, transfer, tunnel, a task, cleanup.
    {
      await using rt = labRuntime('h1', { logger, identityFile: [locked, lab.identityFile] });
      await rt.run('echo hello');
      await rt.sendFile(lab.knownHostsPath, 'kh');
      const tunnel = await rt.exposePortFromRuntime(22, await freePortOn('h1'));
      await tunnel.close();
      await rt.executeTask(new RuntimeTask('t').runCommand('true'), { logDir: dir.path });
      expect(inspect(rt, { depth: 20, showHidden: true })).not.toContain(secrets[0]);
    }
    // Authentication refused: an unknown key and a key we have no passphrase for.
    {
      // Standalone: IdentityFile accumulates across blocks, so including the lab's config would add its key.
      const config = join(dir.path, 'stranger_config');
      await writeFile(config, `Host h1\n  HostName ${address('h1')}\n  User root\n  IdentityFile ${stranger}\n  IdentityFile ${locked}\n  UserKnownHostsFile ${lab.knownHostsPath}\n`);
      await using rt = new Runtime('h1', { sshConfigPath: config, agent: false, logger });
      const error = await rt.exec('true').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuthenticationError);
      errors.push(error);
    }
    // A changed host key.
    {
      const knownHosts = join(dir.path, 'known_hosts');
      const pub = (await readFile(`${stranger}.pub`, 'utf8')).split(' ');
      await run('sh', ['-c', `printf '%s h1 %s %s\\n' "$1" "$2" "$3" > "$4"`, 'sh', address('h1'), pub[0] ?? '', pub[1] ?? '', knownHosts]);
      await using config = await sshConfigOverriding(lab, `Host h1\n  UserKnownHostsFile ${knownHosts}\n  GlobalKnownHostsFile /dev/null`);
      await using rt = new Runtime('h1', { sshConfigPath: config.path, agent: false, logger });
      const error = await rt.exec('true').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HostKeyMismatchError);
      errors.push(error);
    }
    // Nothing listens: the key was loaded, the connection refused.
    {
      const port = await freeManagerPort();
      await using config = await sshConfigOverriding(lab, `Host h1\n  HostName 127.0.0.1\n  Port ${port}`);
      await using rt = new Runtime('h1', { sshConfigPath: config.path, agent: false, logger });
      errors.push(await rt.exec('true').catch((e: unknown) => e));
    }
    // A command that fails, with the key path in its arguments.
    {
      await using rt = labRuntime('h1', { logger });
      errors.push(await rt.run(['cat', '/nonexistent', lab.identityFile.replace('id_', 'missing_id_')]).catch((e: unknown) => e));
    }

    expect(errors.every((e) => e instanceof Error)).toBe(true);
    const text = [...lines, ...errors.flatMap(renderings)].join('\n');
    const found = secrets.filter((s) => text.includes(s));
    expect(found).toEqual([]);
    expect(text).not.toMatch(/PRIVATE KEY-----/);
    recordFault(task, { fault: 'key material in logs/errors', expected: 'none', observed: `${lines.length} log lines, ${errors.length} errors: none`, leftovers: found.length });
  });
});
