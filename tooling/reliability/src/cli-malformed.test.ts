// Malformed input to the commands that edit the user's SSH config (`add-runtime`,
// `delete-runtime`): each is refused with one line on stderr and a usage/failure exit code,
// never a crash or a stack trace, and the file is either left byte for byte as it was or
// changed by exactly one whole Host block, which `delete-runtime` takes back out again.
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

type CliMain = (argv: readonly string[], io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream; env: NodeJS.ProcessEnv }) => Promise<number>;
// NOTE: imported through a path the type checker does not follow: apps/cli is a private app
// outside this package's rootDir; vitest resolves it (and the libraries it uses) from source.
const CLI_MAIN: string = '../../../apps/cli/src/main.js';
const { main } = (await import(CLI_MAIN)) as { main: CliMain };

/** A line of a V8 stack trace: `    at fn (file:line:col)`. */
const STACK_FRAME = /^\s+at .*:\d+:\d+\)?$/m;

const EXISTING = `# my hosts
Host gateway
  HostName gw.example.org
  User me

Host *.internal
  ProxyJump gateway
`;

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lzc-cli-malformed-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function cli(args: readonly string[], home: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on('data', (c: Buffer) => out.push(c.toString()));
  stderr.on('data', (c: Buffer) => err.push(c.toString()));
  const code = await main(args, { stdout, stderr, env: { PATH: process.env.PATH, HOME: home, NO_COLOR: '1' } });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

const text = fc.string({ unit: 'binary', maxLength: 20 });
const shellish = fc.constantFrom('$(touch /tmp/x)', '`id`', ';', '"', "'", '\\', '\n', '\r', ' ', '\t', '#', '*', '?', '=', '@', ':', '[', ']', '-', '--', '%h', '${HOME}', '\0');
const piece = fc.oneof(text, shellish, fc.stringMatching(/^[a-z][a-z0-9.-]{0,8}$/), fc.integer({ min: -5, max: 70_000 }).map(String));
const spec = fc.oneof(
  piece,
  fc.tuple(piece, piece).map(([u, h]) => `${u}@${h}`),
  fc.tuple(piece, piece, piece).map(([u, h, p]) => `${u}@${h}:${p}`),
  fc.tuple(fc.stringMatching(/^[a-z]{1,6}$/), fc.stringMatching(/^[a-z][a-z0-9.-]{0,10}$/), fc.integer({ min: 1, max: 65_535 })).map(([u, h, p]) => `${u}@${h}:${p}`),
);
const option = fc.oneof(
  fc.tuple(fc.constantFrom('Port', 'User', 'ProxyJump', 'ServerAliveInterval', 'IdentityFile', 'Host', 'Match', 'Include', 'HostName', 'Bogus', 'port'), fc.constantFrom('=', ' = ', ''), piece).map(([k, s, v]) => `${k}${s}${v}`),
  piece,
);
const name = fc.oneof(fc.stringMatching(/^[a-z][a-z0-9._-]{0,10}$/), piece, fc.constant('gateway'), fc.constant('localhost'));

describe('malformed input to add-runtime and delete-runtime', () => {
  it('is refused with one line and the config untouched, or adds one block that delete-runtime removes exactly (property)', async () => {
    let added = 0;
    await fc.assert(
      fc.asyncProperty(name, spec, fc.array(option, { maxLength: 3 }), fc.option(piece, { nil: undefined }), async (runtime, target, options, idFile) => {
        const home = await mkdtemp(join(dir, 'home-'));
        const config = join(home, 'config');
        await writeFile(config, EXISTING, { mode: 0o600 });
        const args = ['--ssh-config', config, 'add-runtime', runtime, target, ...(idFile === undefined ? [] : ['--id-file', idFile]), ...options.flatMap((o) => ['--option', o])];
        const result = await cli(args, home);
        expect([0, 1, 2]).toContain(result.code);
        expect(await readdir(home), 'a temporary file was left next to the config').toEqual(['config']);
        expect(((await stat(config)).mode & 0o777).toString(8)).toBe('600');
        const after = await readFile(config, 'utf8');
        if (result.code !== 0) {
          expect(after).toBe(EXISTING);
          expect(result.stderr.trim()).not.toBe('');
          expect(result.stderr, 'a stack trace').not.toMatch(STACK_FRAME);
          return;
        }
        added++;
        expect(after.startsWith(EXISTING.trimEnd())).toBe(true);
        expect(after).toMatch(new RegExp(`^Host ${runtime.replace(/[.]/g, '\\.')}$`, 'm'));
        const removed = await cli(['--ssh-config', config, 'delete-runtime', runtime], home);
        expect(removed.code, removed.stderr).toBe(0);
        expect(await readFile(config, 'utf8')).toBe(EXISTING);
      }),
      // One valid case always runs, so the success path is reached whatever the seed.
      { numRuns: 300, examples: [['node7', 'me@node7.lab:2222', ['Port=2222'], undefined]] },
    );
    // The generators reach the success path too, or the round trip above proves nothing.
    expect(added).toBeGreaterThan(0);
  }, 120_000);

  it('delete-runtime refuses names that are not a concrete Host of the file, and changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(piece, fc.constant('*.internal'), fc.constant('nothere')), async (runtime) => {
        const home = await mkdtemp(join(dir, 'home-'));
        const config = join(home, 'config');
        await writeFile(config, EXISTING, { mode: 0o600 });
        const result = await cli(['--ssh-config', config, 'delete-runtime', runtime], home);
        if (runtime === 'gateway') return;
        expect(result.code).not.toBe(0);
        expect(await readFile(config, 'utf8')).toBe(EXISTING);
        expect(result.stderr, 'a stack trace').not.toMatch(STACK_FRAME);
      }),
      { numRuns: 100 },
    );
  });
});
