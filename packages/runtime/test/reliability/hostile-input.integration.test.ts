// Hostile input on its way to a remote shell: every value a user hands the runtime (command
// arguments, shell-quoted strings, env names and values, paths, working directories, task
// names and arguments, hosts) either arrives on the lab host byte for byte or is refused with
// an error that says why. Nothing is ever executed: each value carries injections that would
// create a canary file, and the canary must never appear, on the host or on the manager.
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execOnHost, readLab } from '@lazycluster/lab';
import { isLazyclusterError, quoteShellArg, Runtime, RuntimeTask, shellCommand, type JsonValue } from '../../src/index.js';
import { managerTempDir, recordFault, uniqueMarker } from '../../../../tooling/reliability/src/lab-faults.js';

const lab = await readLab();
const HOST = 'h2';
// One canary path per run, the same on the host (its private /tmp) and the manager.
const CANARY = `/tmp/${uniqueMarker('pwned')}`;
const PY_ARGV = 'import sys, json; sys.stdout.write(json.dumps(sys.argv[1:]))';
const PY_ENV = 'import os, sys, json; sys.stdout.write(json.dumps({k: os.environ.get(k) for k in sys.argv[1:]}))';

// Fragments that run `touch CANARY` if any layer pastes the value into a shell unquoted.
const injection = fc.constantFrom(
  `$(touch ${CANARY})`,
  `\`touch ${CANARY}\``,
  `;touch ${CANARY};`,
  `\ntouch ${CANARY}\n`,
  `|touch ${CANARY}`,
  `&& touch ${CANARY} #`,
  `'$(touch ${CANARY})'`,
  `"$(touch ${CANARY})"`,
  `\\'; touch ${CANARY}; echo '`,
  `\${IFS}touch\${IFS}${CANARY}`,
);
const shellChar = fc.constantFrom(' ', '"', "'", '$', '`', '\\', '\n', '\r', '\t', ';', '&', '|', '*', '?', '~', '#', '!', '{', '}', '(', ')', '<', '>', '-', '--', '=', '%s');
const anyCodePoint = fc.string({ unit: 'binary', minLength: 1, maxLength: 1 });
const unicode = fc.constantFrom('é', '日本', '😀', '\u202e', '\u200b', 'ﬁ', 'Ω', '\u0301');

/** Any well-formed string, leaning hard on shell syntax and injections; never NUL. */
const hostile = fc
  .array(fc.oneof({ weight: 2, arbitrary: injection }, { weight: 3, arbitrary: shellChar }, { weight: 3, arbitrary: anyCodePoint }, { weight: 1, arbitrary: unicode }), { maxLength: 12 })
  .map((parts) => parts.join(''))
  .filter((s) => !s.includes('\0'));
const withNul = fc.tuple(hostile, hostile).map(([a, b]) => `${a}\0${b}`);
/** A file or directory name: no '/', not '.' or '..', not empty, short enough for any filesystem. */
const hostileName = hostile.filter((s) => s !== '' && s !== '.' && s !== '..' && !s.includes('/') && Buffer.byteLength(s) <= 200);

let rt: Runtime;
let workingDir: string;

beforeAll(async () => {
  rt = new Runtime(HOST, { sshConfigPath: lab.sshConfigPath, agent: false });
  workingDir = await rt.workingDir();
});

afterAll(async () => {
  await rt.cleanup();
  await execOnHost(lab, HOST, ['rm', '-f', CANARY]);
  await rm(CANARY, { force: true });
});

async function canaryAnywhere(): Promise<boolean> {
  return existsSync(CANARY) || (await execOnHost(lab, HOST, ['test', '-e', CANARY])).exitCode === 0;
}

/** The runtime answers a plain command after the refusal: a bad value must not break it. */
async function stillWorks(runtime: Runtime = rt): Promise<void> {
  expect((await runtime.run(['echo', 'ok'])).stdout).toBe('ok\n');
}

/** Refused, with a message that names the problem, and nothing ran. */
async function expectRefusedNul(attempt: Promise<unknown>): Promise<void> {
  const error = await attempt.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'a value with a NUL byte was accepted').toBeInstanceOf(Error);
  expect((error as Error).message).toMatch(/NUL|null/i);
}

const runs = { numRuns: 30 } as const;

describe('hostile values reaching the remote host', () => {
  it('argument vectors arrive intact, element for element (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(hostile, { maxLength: 6 }), async (args) => {
        const { stdout } = await rt.run(['/usr/bin/python3', '-c', PY_ARGV, ...args]);
        expect(JSON.parse(stdout)).toEqual(args);
      }),
      runs,
    );
    expect(await canaryAnywhere()).toBe(false);
  });

  it('shell command lines built with quoteShellArg/shellCommand arrive intact (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(hostile, { maxLength: 6 }), hostile, async (args, one) => {
        const { stdout } = await rt.run(shellCommand(['/usr/bin/python3', '-c', PY_ARGV, ...args]));
        expect(JSON.parse(stdout)).toEqual(args);
        const echoed = await rt.run(`printf '%s' ${quoteShellArg(one)}`);
        expect(echoed.stdout).toBe(one);
      }),
      runs,
    );
    expect(await canaryAnywhere()).toBe(false);
  });

  it('env names and values, of the runtime and of one command, arrive intact (property)', async () => {
    // A prefix keeps generated names from replacing PATH, LD_PRELOAD or PYTHONHOME.
    const name = hostile.filter((s) => !s.includes('=')).map((s) => `LZ_${s}`);
    await fc.assert(
      fc.asyncProperty(fc.dictionary(name, hostile, { maxKeys: 4 }), fc.dictionary(name, hostile, { maxKeys: 4 }), async (runtimeEnv, commandEnv) => {
        rt.setEnv(runtimeEnv);
        const names = [...new Set([...Object.keys(runtimeEnv), ...Object.keys(commandEnv)])];
        const { stdout } = await rt.run(['/usr/bin/python3', '-c', PY_ENV, ...names], { env: commandEnv });
        const expected = Object.fromEntries(names.map((n) => [n, commandEnv[n] ?? runtimeEnv[n]]));
        expect(JSON.parse(stdout)).toEqual(expected);
      }),
      runs,
    );
    rt.setEnv({});
    expect(await canaryAnywhere()).toBe(false);
  });

  it('relative cwd paths arrive intact (property)', async () => {
    await fc.assert(
      fc.asyncProperty(hostileName, async (dir) => {
        await rt.run(['mkdir', '-p', '--', dir]);
        const { stdout } = await rt.run(['/usr/bin/python3', '-c', 'import os, sys; sys.stdout.write(os.getcwd())'], { cwd: dir });
        expect(stdout).toBe(`${workingDir}/${dir}`);
        await rt.run(['rm', '-rf', '--', dir]);
      }),
      runs,
    );
    expect(await canaryAnywhere()).toBe(false);
  });

  it('a given working directory with a hostile name is created as named and exported as WORKING_DIR (property)', async () => {
    await fc.assert(
      fc.asyncProperty(hostileName, async (name) => {
        const dir = `/tmp/lzfault-wd-${name}`;
        try {
          await using given = new Runtime(HOST, { sshConfigPath: lab.sshConfigPath, agent: false, workingDir: dir });
          const { stdout } = await given.run(['/usr/bin/python3', '-c', 'import os, sys; sys.stdout.write(os.environ["WORKING_DIR"] + "\\0" + os.getcwd())']);
          expect(stdout).toBe(`${dir}\0${dir}`);
        } finally {
          await execOnHost(lab, HOST, ['rm', '-rf', '--', dir]);
        }
      }),
      { numRuns: 4 },
    );
    expect(await canaryAnywhere()).toBe(false);
  });

  it('task names and Python arguments and results travel intact; the log file stays in its directory (property)', async () => {
    await using logs = await managerTempDir();
    const json: fc.Arbitrary<JsonValue> = fc.oneof(hostile, fc.integer(), fc.boolean(), fc.constant(null), fc.array(hostile, { maxLength: 3 }));
    await fc.assert(
      fc.asyncProperty(hostile.filter((s) => s.trim() !== ''), fc.dictionary(hostile, json, { maxKeys: 4 }), async (name, args) => {
        const task = new RuntimeTask(name).runPython('def main(**kwargs):\n    return kwargs', args);
        const run = await rt.executeTask(task, { logDir: logs.path });
        expect(task.functionReturns).toEqual([args]);
        expect(run.logFile).toBeDefined();
        expect(dirname(run.logFile ?? '')).toBe(join(logs.path, 'execution_log', HOST));
      }),
      { numRuns: 12 },
    );
    expect(await canaryAnywhere()).toBe(false);
  });

  it('host strings never reach a shell: each is refused with a typed error or reaches loopback only (property)', async () => {
    // Every name resolves to a closed port on the manager's loopback, so no lookup leaves the machine.
    await using dir = await managerTempDir();
    const closed = await closedLoopbackPort();
    const config = join(dir.path, 'ssh_config');
    await writeFile(config, `Host *\n  HostName 127.0.0.1\n  Port ${closed}\n  ConnectTimeout 2\n  ProxyJump none\n`);
    const plain = fc.stringMatching(/^[a-z][a-z0-9.-]{0,12}$/);
    const host = fc.oneof(
      hostile,
      plain,
      fc.tuple(fc.oneof(hostile, plain), fc.oneof(hostile, plain)).map(([u, h]) => `${u}@${h}`),
      fc.tuple(fc.oneof(hostile, plain), fc.integer({ min: -5, max: 70_000 })).map(([h, p]) => `${h}:${p}`),
    );
    await fc.assert(
      fc.asyncProperty(host, async (spec) => {
        let error: unknown;
        try {
          const runtime = new Runtime(spec, { sshConfigPath: config, agent: false });
          await runtime.exec(['touch', CANARY]).finally(async () => await runtime.cleanup());
        } catch (e) {
          error = e;
        }
        // An empty or blank host is a programming error (TypeError); anything else is typed.
        const typed = isLazyclusterError(error) || (error instanceof TypeError && spec.trim() === '');
        expect(typed, `host ${JSON.stringify(spec)} gave ${String(error)}`).toBe(true);
      }),
      { numRuns: 60 },
    );
    expect(await canaryAnywhere()).toBe(false);
  });
});

describe('values that cannot reach a remote host intact (NUL bytes, lone surrogates)', () => {
  it('are refused in arguments, command lines, env names and values, and cwd; the runtime keeps working (property)', async ({ task }) => {
    await fc.assert(
      fc.asyncProperty(withNul, hostile, async (bad, good) => {
        await expectRefusedNul(rt.exec(['/usr/bin/python3', '-c', PY_ARGV, good, bad]));
        await expectRefusedNul(rt.exec(`printf '%s' '${bad.replaceAll("'", '')}'`));
        await expectRefusedNul(rt.exec(['true'], { env: { LZ_OK: good, LZ_BAD: bad } }));
        await expectRefusedNul(rt.exec(['true'], { env: { [`LZ_${bad.replaceAll('=', '')}`]: good } }));
        await expect(rt.exec(['true'], { env: { [`LZ_${good}=`]: good } })).rejects.toThrow(/environment variable/);
        await expectRefusedNul(rt.exec(['true'], { cwd: bad }));
        expect(() => quoteShellArg(bad)).toThrow(/NUL/);
        expect(() => new RuntimeTask(bad)).toThrow(/NUL/);
        await stillWorks();
      }),
      { numRuns: 20 },
    );
    const lone = await rt.exec(['printf', '%s', 'a\ud800b']).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(lone).toBeInstanceOf(Error);
    await stillWorks();
    expect(await canaryAnywhere()).toBe(false);
    recordFault(task, { fault: 'NUL / lone surrogate in command, env, cwd', expected: 'refused, runtime usable', observed: 'refused, runtime usable', leftovers: 0 });
  });

  it('are refused in file transfer paths, and file transfer keeps working afterwards', async ({ task }) => {
    await using local = await managerTempDir();
    const source = join(local.path, 'payload');
    await writeFile(source, 'payload');
    await using fresh = new Runtime(HOST, { sshConfigPath: lab.sshConfigPath, agent: false });
    await fresh.sendFile(source, 'before');
    await expectRefusedNul(fresh.sendFile(source, 'a\0b'));
    await expectRefusedNul(fresh.getFile('a\0b', join(local.path, 'back')));
    // The next transfers on the same connection must work (and not hang).
    const sent = await Promise.race([
      fresh.sendFile(source, 'after'),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('sendFile hung after a refused path')), 10_000)),
    ]);
    expect(sent).toBe(`${await fresh.workingDir()}/after`);
    await fresh.getFile('after', join(local.path, 'back'));
    expect(await readFile(join(local.path, 'back'), 'utf8')).toBe('payload');
    await stillWorks(fresh);
    recordFault(task, { fault: 'NUL in a file transfer path', expected: 'refused, transfers keep working', observed: 'refused, transfers keep working', leftovers: 0 });
  });

  it('are refused as a working directory', async () => {
    const attempt = new Runtime(HOST, { sshConfigPath: lab.sshConfigPath, agent: false, workingDir: '/tmp/a\0b' });
    try {
      await expectRefusedNul(attempt.exec('true'));
    } finally {
      await attempt.cleanup();
    }
  });
});

async function closedLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
