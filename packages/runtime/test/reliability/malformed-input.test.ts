// Malformed input that never reaches a host: SSH configs, `user@host:port` strings, ports,
// port lists and runtime options. Each is either accepted as valid or refused with a typed
// error; nothing crashes, loops or hangs, and nothing on disk changes. Every host name here
// resolves to a closed port on the manager's loopback, so no test traffic leaves the machine.
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_PORT, MIN_PORT, parsePortList, portRange, validatePort, validatePortList } from '@lazycluster/ports';
import { formatHostSpec, isLazyclusterError, parseHostSpec, Runtime, RuntimeManager, SshConfigError } from '../../src/index.js';

let dir: string;
let closedPort: number;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lzc-malformed-'));
  const server = createServer();
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  closedPort = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Name and content hash of every file in `path`: what "nothing changed on disk" is checked against. */
async function snapshot(path: string): Promise<Record<string, string>> {
  const entries = await readdir(path, { recursive: true, withFileTypes: true });
  const files = entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  return Object.fromEntries(await Promise.all(files.map(async (f) => [f, createHash('sha256').update(await readFile(f)).digest('hex')] as const)));
}

function isTypedRefusal(error: unknown): boolean {
  return isLazyclusterError(error) || error instanceof TypeError || error instanceof RangeError;
}

const text = fc.string({ unit: 'binary', maxLength: 30 });
const shellish = fc.constantFrom('$(touch /tmp/x)', '`id`', ';', '|', '"', "'", '\\', '\n', ' ', '\t', '%', '%%', '%h', '%Z', '${HOME}', '${NOPE_UNSET}', '~', '*', '?', '!', '[', ']', '=', '#', ',', ':', '@', '-', '--', '\0');
const value = fc.oneof(text, shellish, fc.integer({ min: -70_000, max: 200_000 }).map(String), fc.constantFrom('yes', 'no', 'none', 'accept-new', 'ask', 'inet', 'inet6', '""', '"unclosed', ''));
const keyword = fc.oneof(
  fc.constantFrom(
    'Host', 'Match', 'Include', 'HostName', 'User', 'Port', 'IdentityFile', 'IdentitiesOnly', 'ProxyJump', 'ProxyCommand', 'UserKnownHostsFile',
    'GlobalKnownHostsFile', 'StrictHostKeyChecking', 'ServerAliveInterval', 'ServerAliveCountMax', 'ConnectTimeout', 'HostKeyAlias', 'AddressFamily',
    'IdentityAgent', 'CanonicalizeHostname', 'LocalForward', 'SendEnv', 'IgnoreUnknown', 'BogusKeyword',
  ),
  text,
);
const separator = fc.constantFrom(' ', '=', ' = ', '\t', '  ', '');
const line = fc.oneof(
  fc.tuple(keyword, separator, value).map(([k, s, v]) => `${k}${s}${v}`),
  fc.tuple(fc.constantFrom('  ', '\t', ''), keyword, separator, value).map(([i, k, s, v]) => `${i}${k}${s}${v}`),
  text,
  fc.constant(''),
  fc.constant('# comment'),
);

describe('malformed SSH configs', () => {
  it('are accepted or refused with a typed error, never crash or hang, and change nothing on disk (property)', async () => {
    const home = await mkdtemp(join(dir, 'configs-'));
    const main = join(home, 'config');
    const included = join(home, 'included');
    // Forced first: OpenSSH keeps the first value, so every host lands on a closed loopback port.
    const header = `Host *\n  HostName 127.0.0.1\n  Port ${closedPort}\n  ConnectTimeout 1\n  ProxyJump none\n  ProxyCommand none\n  StrictHostKeyChecking yes\n  UserKnownHostsFile ${join(home, 'known_hosts')}\n`;
    await writeFile(join(home, 'known_hosts'), 'garbage line\n[127.0.0.1 ssh-ed25519 AAAA\n');
    await fc.assert(
      fc.asyncProperty(
        fc.array(line, { maxLength: 12 }),
        fc.array(line, { maxLength: 6 }),
        fc.constantFrom(`Include ${included}`, `Include ${main}`, `Include ${home}/*`, 'Include does-not-exist', ''),
        fc.constantFrom('h1', 'alias.example', 'me@h1:2222', 'h1:0'),
        async (mainLines, includedLines, include, host) => {
          await writeFile(main, `${header}${include}\n${mainLines.join('\n')}\n`);
          // A config that includes itself or its including file: recursion must be refused, not followed forever.
          await writeFile(included, `${includedLines.join('\n')}\nInclude ${included}\n`);
          const before = await snapshot(home);
          let error: unknown;
          await using rt = new Runtime(host, { sshConfigPath: main, agent: false, hostKeyPolicy: 'accept-new' });
          try {
            await rt.exec('true');
          } catch (e) {
            error = e;
          }
          expect(error, 'connected to a closed port?').toBeDefined();
          expect(isTypedRefusal(error), `${String(error)}\n${(error as Error).stack ?? ''}`).toBe(true);
          expect(await snapshot(home)).toEqual(before);
        },
      ),
      { numRuns: 150 },
    );
  }, 120_000);

  it('are read by discovery without a crash: every host is active or listed inactive with a reason (property)', async () => {
    const home = await mkdtemp(join(dir, 'discover-'));
    const main = join(home, 'config');
    await fc.assert(
      fc.asyncProperty(fc.array(line, { maxLength: 10 }), fc.array(fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/), { maxLength: 3 }), async (lines, hosts) => {
        const blocks = hosts.map((h) => `Host ${h}\n  User u`).join('\n');
        await writeFile(main, `Host *\n  HostName 127.0.0.1\n  Port ${closedPort}\n  ConnectTimeout 1\n  ProxyJump none\n  ProxyCommand none\n${blocks}\n${lines.join('\n')}\n`);
        const before = await snapshot(home);
        try {
          const manager = await RuntimeManager.detect({ sshConfigPath: main, agent: false, timeoutMs: 3000 });
          for (const inactive of manager.inactiveHosts) expect(inactive.reason).not.toBe('');
        } catch (error) {
          expect(isTypedRefusal(error), String(error)).toBe(true);
        }
        expect(await snapshot(home)).toEqual(before);
      }),
      { numRuns: 40 },
    );
  }, 120_000);

  it('does not follow an Include of itself forever: it reads the file once or refuses it, quickly', async () => {
    const path = join(dir, 'self-including');
    await writeFile(path, `Host *\n  HostName 127.0.0.1\n  Port ${closedPort}\nInclude ${path}\n`);
    await using rt = new Runtime('anything', { sshConfigPath: path, agent: false });
    const started = performance.now();
    const error = await rt.exec('true').catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(3000);
    expect(isLazyclusterError(error)).toBe(true);
    // Refused for the loop, or read once and sent to the closed port it names.
    expect((error as Error).message).toMatch(new RegExp(`${path}|127\\.0\\.0\\.1 port ${closedPort}`));
  });
});

describe('malformed user@host:port strings', () => {
  const specPart = fc.oneof(fc.stringMatching(/^[a-z0-9._-]{1,10}$/), fc.string({ unit: 'binary', maxLength: 8 }), shellish);
  const spec = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.tuple(specPart, specPart).map(([u, h]) => `${u}@${h}`),
    fc.tuple(specPart, specPart, fc.oneof(fc.integer({ min: -10, max: 100_000 }).map(String), specPart)).map(([u, h, p]) => `${u}@${h}:${p}`),
    fc.tuple(specPart, fc.oneof(fc.ipV6(), specPart), fc.oneof(fc.integer({ min: -10, max: 100_000 }).map(String), specPart)).map(([u, h, p]) => `${u}@[${h}]:${p}`),
    fc.tuple(specPart, specPart).map(([u, h]) => `ssh://${u}@${h}`),
  );

  it('parse to a valid spec that formats back to itself, or throw SshConfigError (property)', () => {
    fc.assert(
      fc.property(spec, (s) => {
        let parsed;
        try {
          parsed = parseHostSpec(s);
        } catch (error) {
          expect(error, `${JSON.stringify(s)}: ${String(error)}`).toBeInstanceOf(SshConfigError);
          expect((error as Error).message).toContain('Invalid host');
          return;
        }
        expect(parsed.host).not.toBe('');
        expect(parsed.host).not.toMatch(/^-|[\s$`;|&<>'"\\]/);
        if (parsed.user !== undefined) expect(parsed.user).not.toMatch(/^-|[\s$`;|&<>'"\\]/);
        if (parsed.port !== undefined) expect(parsed.port >= 1 && parsed.port <= 65_535 && Number.isInteger(parsed.port)).toBe(true);
        expect(parseHostSpec(formatHostSpec(parsed))).toEqual(parsed);
      }),
      { numRuns: 2000 },
    );
  });

  it('as a runtime host, are refused with a typed error before any connection is tried (property)', async () => {
    await fc.assert(
      fc.asyncProperty(spec.filter((s) => { try { parseHostSpec(s); return false; } catch { return s.trim() !== ''; } }), async (s) => {
        await using rt = new Runtime(s, { sshConfigPath: '/dev/null', agent: false });
        await expect(rt.exec('true')).rejects.toBeInstanceOf(SshConfigError);
      }),
      { numRuns: 200 },
    );
  });
});

describe('malformed ports and port lists', () => {
  const anything = fc.oneof(fc.anything(), fc.double(), fc.integer({ min: -100_000, max: 200_000 }), fc.bigInt(), fc.string());

  it('validatePort returns a port in range or throws TypeError/RangeError (property)', () => {
    fc.assert(
      fc.property(anything, (input) => {
        try {
          const port = validatePort(input);
          expect(port).toBe(input);
          expect(Number.isInteger(port) && port >= MIN_PORT && port <= MAX_PORT).toBe(true);
        } catch (error) {
          expect(error instanceof TypeError || error instanceof RangeError, String(error)).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('validatePortList and portRange accept only whole lists of valid ports (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.array(anything, { maxLength: 8 }), fc.array(fc.integer({ min: -5, max: 70_000 }), { maxLength: 8 }), anything), (input) => {
        try {
          const list = validatePortList(input);
          expect(list).toEqual(input);
          expect(new Set(list).size).toBe(list.length);
        } catch (error) {
          expect(error instanceof TypeError || error instanceof RangeError, String(error)).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.integer({ min: -5, max: 70_000 }), fc.integer({ min: -5, max: 70_000 }), (a, b) => {
        try {
          const list = portRange(a, b);
          expect(list[0]).toBe(a);
          expect(list.at(-1)).toBe(b);
        } catch (error) {
          expect(error instanceof TypeError || error instanceof RangeError, String(error)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('parsePortList reads "8000-8010,9000" forms and refuses everything else with TypeError/RangeError (property)', () => {
    const item = fc.oneof(fc.integer({ min: -5, max: 70_000 }).map(String), fc.tuple(fc.integer({ min: -5, max: 70_000 }), fc.integer({ min: -5, max: 70_000 })).map(([a, b]) => `${a}-${b}`), fc.string({ maxLength: 6 }), shellish);
    fc.assert(
      fc.property(fc.oneof(fc.array(item, { maxLength: 5 }).map((items) => items.join(',')), fc.string({ unit: 'binary', maxLength: 30 })), (input) => {
        try {
          const list = parsePortList(input);
          expect(list.length).toBeGreaterThan(0);
          for (const port of list) expect(Number.isInteger(port) && port >= MIN_PORT && port <= MAX_PORT).toBe(true);
        } catch (error) {
          expect(error instanceof TypeError || error instanceof RangeError, String(error)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  }, 30_000);
});

describe('malformed runtime options', () => {
  it('are refused with a typed error when the runtime connects, with nothing written (property)', async () => {
    const home = await mkdtemp(join(dir, 'options-'));
    const config = join(home, 'config');
    await writeFile(config, `Host *\n  HostName 127.0.0.1\n  Port ${closedPort}\n  ConnectTimeout 1\n  UserKnownHostsFile ${join(home, 'known_hosts')}\n`);
    const option = fc.record(
      {
        port: fc.oneof(fc.integer({ min: -10, max: 100_000 }), fc.double(), fc.constant(Number.NaN)),
        user: fc.oneof(text, shellish),
        identityFile: fc.oneof(text, fc.constantFrom('/dev/null', home, '/nonexistent/key', config)),
        proxyJump: fc.oneof(text, shellish, fc.constant(`jump:${closedPort}`)),
        heartbeatSeconds: fc.oneof(fc.integer({ min: -5, max: 5 }), fc.double()),
        hostKeyPolicy: fc.constantFrom('strict', 'accept-new', 'off', 'bogus'),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(option, async (options) => {
        const before = await snapshot(home);
        let error: unknown;
        try {
          // Deliberately untyped: JavaScript callers and JSON configs can pass anything.
          await using rt = new Runtime('h1', { sshConfigPath: config, agent: false, ...(options as object) });
          await rt.exec('true');
        } catch (e) {
          error = e;
        }
        expect(error).toBeDefined();
        expect(isTypedRefusal(error), `${JSON.stringify(options)}: ${String(error)}`).toBe(true);
        expect(await snapshot(home)).toEqual(before);
      }),
      { numRuns: 120 },
    );
  }, 120_000);
});
