import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/main.js';
import { cliVersion } from '../src/program.js';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function capture(): PassThrough & { text: () => string } {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
  return Object.assign(stream, { text: () => chunks.join('') });
}

async function run(...argv: string[]): Promise<Run> {
  const stdout = capture();
  const stderr = capture();
  const code = await main(argv, { stdout, stderr, env: {} });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

let dir: string;
let emptyConfig: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lazycluster-cli-main-'));
  emptyConfig = join(dir, 'config');
  await writeFile(emptyConfig, '# nothing here\n');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the command line', () => {
  it('prints the version and exits 0', async () => {
    const result = await run('--version');
    expect(result).toEqual({ code: 0, stdout: `${cliVersion()}\n`, stderr: '' });
    expect(cliVersion()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('shows help with the global options on every command and exits 0', async () => {
    for (const command of [['list-runtimes'], ['add-runtime'], ['delete-runtime'], ['exec'], ['dask', 'up'], ['dask', 'run']]) {
      const result = await run(...command, '--help');
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`Usage: lazycluster ${command.join(' ')}`);
      for (const flag of ['--ssh-config <path>', '--debug', '--help']) expect(result.stdout).toContain(flag);
    }
  });

  it('explains in exec --help that the remote shell expands the command', async () => {
    const { stdout } = await run('exec', '--help');
    expect(stdout).toContain("echo '$HOME'");
    expect(stdout).toMatch(/joined with spaces/);
  });

  it('exits 2 with a message for an unknown command or option', async () => {
    const unknown = await run('frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^lazycluster: unknown command 'frobnicate'/);
    const option = await run('list-runtimes', '--frob');
    expect(option.code).toBe(2);
    expect(option.stderr).toContain("unknown option '--frob'");
  });

  it('exits 2 when no command is given, showing the help on stderr', async () => {
    const result = await run();
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Usage: lazycluster');
  });

  it('refuses port 0 and 70000 for --master-port, naming the flag', async () => {
    for (const port of ['0', '70000']) {
      const result = await run('dask', 'up', '--master-port', port);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`option '--master-port <port>' argument '${port}' is invalid`);
      expect(result.stderr).toMatch(/out of range/);
    }
  });

  it('refuses --workers 0, --nthreads x and an unknown --network', async () => {
    expect((await run('dask', 'run', '--workers', '0', '--', 'true')).stderr).toContain("'--workers <n>' argument '0' is invalid");
    expect((await run('dask', 'up', '--nthreads', 'x')).code).toBe(2);
    const network = await run('dask', 'up', '--network', 'carrier-pigeon');
    expect(network.code).toBe(2);
    expect(network.stderr).toMatch(/Allowed choices are tunnel, direct/);
  });

  it('needs "--" before the command of exec and dask run', async () => {
    const missing = await run('--ssh-config', emptyConfig, 'exec', 'hostname');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('exec needs the command after "--"');
    const empty = await run('--ssh-config', emptyConfig, 'dask', 'run', '--');
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('dask run needs a command after "--"');
    const stray = await run('--ssh-config', emptyConfig, 'exec', 'x', '--', 'hostname');
    expect(stray.code).toBe(2);
    expect(stray.stderr).toContain('Unexpected "x" before "--"');
  });

  it('exits 2 for a malformed --hosts entry, naming the flag and the entry', async () => {
    for (const argv of [['exec', '--hosts', 'h1,me@h:0', '--', 'true'], ['dask', 'up', '--hosts', 'me@h:0']]) {
      const result = await run(...argv);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/^lazycluster: --hosts: Invalid host "me@h:0": the port 0 is outside 1-65535/);
    }
    const twice = await run('exec', '--hosts', 'h1,h1', '--', 'true');
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain('h1 is listed twice');
  });

  it('loads no command handler and no SSH code before a command runs', async () => {
    // Follows the static (non-type) imports from main.ts: what --help, --version and a usage
    // error load. Handlers and the SSH stack must only come through dynamic import().
    const src = resolve(import.meta.dirname, '../src');
    const seen = new Set<string>();
    const packages = new Set<string>();
    const queue = [join(src, 'main.ts')];
    for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
      if (seen.has(file)) continue;
      seen.add(file);
      const text = await readFile(file, 'utf8');
      for (const match of text.matchAll(/^import (?!type )[^;]*?from '([^']+)';/gms)) {
        const target = match[1] ?? '';
        if (target.startsWith('.')) queue.push(resolve(dirname(file), target.replace(/\.js$/, '.ts')));
        else packages.add(target);
      }
    }
    expect([...seen].map((file) => file.slice(src.length + 1)).filter((file) => !file.endsWith('/command.ts')).sort()).toEqual(['lib/errors.ts', 'lib/options.ts', 'main.ts', 'program.ts']);
    expect([...packages].filter((name) => name.startsWith('@lazycluster/')).sort()).toEqual(['@lazycluster/ports']);
  });

  it('lists no runtimes for a config without hosts: empty JSON, a hint in text mode, exit 0', async () => {
    const json = await run('--ssh-config', emptyConfig, 'list-runtimes', '--json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ active: [], inactive: [] });
    const text = await run('list-runtimes', '--ssh-config', emptyConfig);
    expect(text).toMatchObject({ code: 0, stdout: '' });
    expect(text.stderr).toContain('lazycluster add-runtime NAME user@host');
  });

  it('exec exits 1 with the reason when the config names no host', async () => {
    const result = await run('--ssh-config', join(dir, 'missing'), 'exec', '--', 'true');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^lazycluster: No usable runtime was found in .*missing/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('prints the stack with --debug', async () => {
    const result = await run('--debug', '--ssh-config', join(dir, 'missing'), 'exec', '--', 'true');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/NoRuntimesDetectedError: No usable runtime[\s\S]*\n\s+at /);
  });
});
