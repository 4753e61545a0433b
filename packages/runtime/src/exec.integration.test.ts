import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { execOnHost, readLab } from '@lazycluster/lab';
import { CommandFailedError } from './index.js';
import { labRuntime, processesWith, tempDir, uniqueMarker, waitFor } from '../test/lab-helpers.js';

const lab = await readLab();

/** A `sleep` whose command line is unique, so the test can find it in the host's process table. */
function uniqueSleep(): { command: string; marker: string } {
  const marker = `1000.${String(Date.now()).slice(-6)}${Math.floor(Math.random() * 1e6)}`;
  return { command: `sleep ${marker}`, marker };
}

/** A shell tree: a background child, a double-forked grandchild that leaves its parent, and a foreground child. */
function sleepTree(sleep: string): string {
  return `${sleep} & (${sleep} &) ; ${sleep}`;
}

// Shell-significant characters and a few multi-byte ones, mixed with anything Unicode.
const tricky = fc.constantFrom(' ', '"', "'", '$', '`', '\n', '\\', '*', ';', '&', '|', '$(', '${', '!', '#', '~', '\t', '\r', 'é', '日', '😀', '-');
const trickyText = (maxLength: number): fc.Arbitrary<string> =>
  fc
    .string({ unit: fc.oneof(tricky, fc.constantFrom('a', 'B', '7', '_', '.'), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 })), maxLength })
    .filter((s) => !s.includes('\0'));

describe('Runtime.exec on a lab host', () => {
  it('returns stdout, stderr and the exit code', async () => {
    await using rt = labRuntime(lab, 'h1');
    const result = await rt.exec('echo out; echo err >&2; exit 3');
    expect(result).toMatchObject({ host: 'h1', stdout: 'out\n', stderr: 'err\n', exitCode: 3, signal: null });
  });

  it('rejects from run() with CommandFailedError carrying the result when the exit code is not 0', async () => {
    await using rt = labRuntime(lab, 'h1');
    const error = await rt.run('echo partial; echo broken >&2; exit 7').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandFailedError);
    expect(error).toMatchObject({ code: 'COMMAND_FAILED', host: 'h1', exitCode: 7, stdout: 'partial\n', stderr: 'broken\n', timedOut: false });
    expect((error as Error).message).toContain('broken');
  });

  it('runs an argument vector without a shell', async () => {
    await using rt = labRuntime(lab, 'h2');
    const result = await rt.exec(['printf', '%s|%s', '$HOME `id`', "it's"]);
    expect(result.stdout).toBe("$HOME `id`|it's");
  });

  it('exports WORKING_DIR, a fresh temp dir, and runs commands in it', async () => {
    await using rt = labRuntime(lab, 'h1');
    const workingDir = await rt.workingDir();
    const { stdout } = await rt.run('printf "%s\\n%s" "$WORKING_DIR" "$PWD"');
    expect(stdout).toBe(`${workingDir}\n${workingDir}`);
    expect(workingDir).toMatch(/^\/tmp\/lazycluster-/);
  });

  it('exports the runtime env to every command, and per-command env on top of it', async () => {
    await using rt = labRuntime(lab, 'h1', { env: { A: 'from runtime', B: 'runtime b' } });
    rt.addEnv({ C: 'added' });
    const first = await rt.run('printf "%s|%s|%s" "$A" "$B" "$C"');
    const second = await rt.run(['sh', '-c', 'printf "%s|%s|%s" "$A" "$B" "$C"'], { env: { B: 'command b' } });
    const proc = await rt.spawn('printf "%s" "$A"');
    expect(first.stdout).toBe('from runtime|runtime b|added');
    expect(second.stdout).toBe('from runtime|command b|added');
    expect(await text(proc.stdout)).toBe('from runtime');
  });

  it('resolves a relative cwd against the working directory', async () => {
    await using rt = labRuntime(lab, 'h1');
    const workingDir = await rt.workingDir();
    await rt.run(['mkdir', '-p', 'a dir/sub']);
    const { stdout } = await rt.run('printf "%s" "$PWD"', { cwd: 'a dir/sub' });
    expect(stdout).toBe(`${workingDir}/a dir/sub`);
  });

  it('creates a given working directory whose path has spaces, quotes, $, backticks and a newline', async () => {
    const dir = `/tmp/${uniqueMarker('wd')} it's "$x" \`y\`\nz`;
    try {
      await using rt = labRuntime(lab, 'h2', { workingDir: dir });
      const { stdout } = await rt.run('printf "%s|%s" "$WORKING_DIR" "$PWD"');
      expect(stdout).toBe(`${dir}|${dir}`);
      expect(await rt.workingDir()).toBe(dir);
    } finally {
      await execOnHost(lab, 'h2', ['rm', '-rf', dir]);
    }
  });

  it('resolves a given working directory starting with ~ against the home directory', async () => {
    const name = uniqueMarker('lzc-wd-');
    await using rt = labRuntime(lab, 'h3', { workingDir: `~/${name}` });
    try {
      const { stdout } = await rt.run('printf "%s|%s|%s" "$HOME" "$WORKING_DIR" "$PWD"');
      const [home, workingDir, pwd] = stdout.split('|');
      expect(workingDir).toBe(`${home}/${name}`);
      expect(pwd).toBe(workingDir);
    } finally {
      await rt.run(['rm', '-rf', await rt.workingDir()]);
    }
  });

  it('rejects with CommandFailedError naming the host when the program or the cwd does not exist', async () => {
    await using rt = labRuntime(lab, 'h1');
    const missing = await rt.exec(['no-such-program-here', 'x']).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(CommandFailedError);
    expect(missing).toMatchObject({ host: 'h1', command: 'no-such-program-here x', exitCode: null });
    expect((missing as Error).message).toContain('no-such-program-here');
    const badCwd = await rt.spawn('true', { cwd: 'not/there' }).catch((e: unknown) => e);
    expect(badCwd).toBeInstanceOf(CommandFailedError);
    expect((badCwd as Error).message).toContain(`${await rt.workingDir()}/not/there`);
    // A missing program run through the shell is an ordinary exit code, as in any shell.
    expect((await rt.exec('no-such-program-here')).exitCode).toBe(127);
  });

  it('stops the whole remote process tree when timeoutMs passes', async () => {
    await using rt = labRuntime(lab, 'h1');
    const { command, marker } = uniqueSleep();
    const started = Date.now();
    const error = await rt.exec(sleepTree(command), { timeoutMs: 500 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandFailedError);
    expect(error).toMatchObject({ timedOut: true, isCanceled: false, host: 'h1' });
    expect(Date.now() - started).toBeLessThan(5000);
    await waitFor(async () => (await processesWith(lab, 'h1', marker)).length === 0, { what: `no "${marker}" process left on h1` });
  });

  it('stops the whole remote process tree when its signal aborts', async () => {
    await using rt = labRuntime(lab, 'h3');
    const { command, marker } = uniqueSleep();
    const controller = new AbortController();
    const running = rt.exec(sleepTree(command), { signal: controller.signal });
    await waitFor(async () => (await processesWith(lab, 'h3', marker)).length >= 3, { what: 'the three sleeps to start' });
    controller.abort(new Error('user gave up'));
    const error = await running.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandFailedError);
    expect(error).toMatchObject({ isCanceled: true, timedOut: false });
    await waitFor(async () => (await processesWith(lab, 'h3', marker)).length === 0, { what: `no "${marker}" process left on h3` });
  });

  it('feeds input to the command', async () => {
    await using rt = labRuntime(lab, 'h1');
    const { stdout } = await rt.run(['tr', 'a-z', 'A-Z'], { input: 'shout\nthis' });
    expect(stdout).toBe('SHOUT\nTHIS');
  });

  it('passes env values with shell-significant characters through unchanged (property)', async () => {
    await using rt = labRuntime(lab, 'h2');
    await fc.assert(
      fc.asyncProperty(trickyText(40), trickyText(40), async (value, arg) => {
        const { stdout } = await rt.run('printf "%s" "$TRICKY"', { env: { TRICKY: value } });
        expect(stdout).toBe(value);
        const echoed = await rt.run(['printf', '%s', arg]);
        expect(echoed.stdout).toBe(arg);
      }),
      { numRuns: 30 },
    );
  });

  it('sends and fetches files whose names have shell-significant characters (property)', async () => {
    await using rt = labRuntime(lab, 'h3');
    await using local = await tempDir();
    const name = trickyText(30).filter((s) => s !== '' && s !== '.' && s !== '..' && !s.includes('/') && Buffer.byteLength(s) <= 200);
    await fc.assert(
      fc.asyncProperty(name, fc.string(), async (fileName, content) => {
        const source = join(local.path, 'out');
        await writeFile(source, content);
        const remote = await rt.sendFile(source, fileName);
        expect(remote).toBe(`${await rt.workingDir()}/${fileName}`);
        // A redirection, not `cat -- "$F"`: cat reads stdin for a file named "-" even after --.
        const { stdout } = await rt.run('cat < "$F"', { env: { F: fileName } });
        expect(stdout).toBe(content);
        const back = join(local.path, 'back');
        await rt.getFile(fileName, back);
        expect(await readFile(back, 'utf8')).toBe(content);
        await rt.run(['rm', '--', fileName]);
      }),
      { numRuns: 30, examples: [['-', ' '], ['-n', 'x'], ['$(id)', '`id`']] },
    );
  });
});

describe('Runtime.spawn on a lab host', () => {
  it('streams output and reports the exit code', async () => {
    await using rt = labRuntime(lab, 'h1');
    const proc = await rt.spawn('echo one; echo two >&2; exit 4');
    // `exited` can resolve before buffered output has been read: read the streams to their end.
    const [out, err, code] = await Promise.all([text(proc.stdout), text(proc.stderr), proc.exited]);
    expect(code).toBe(4);
    expect(proc.pid).toBeGreaterThan(1);
    expect(out).toBe('one\n');
    expect(err).toBe('two\n');
  });

  it('delivers the output to readers attached right after spawn() before exited resolves', async () => {
    await using rt = labRuntime(lab, 'h2');
    const lost: number[] = [];
    for (let i = 0; i < 40; i++) {
      const proc = await rt.spawn(`echo ${i}`);
      const out: Buffer[] = [];
      proc.stdout.on('data', (c: Buffer) => out.push(c));
      await proc.exited;
      if (Buffer.concat(out).toString() !== `${i}\n`) lost.push(i);
    }
    expect(lost).toEqual([]);
  });

  it('gives the pid of the process on its host', async () => {
    await using rt = labRuntime(lab, 'h2');
    const { command, marker } = uniqueSleep();
    const proc = await rt.spawn(['sleep', marker]);
    const [found] = await waitFor(async () => {
      const list = await processesWith(lab, 'h2', marker);
      return list.length > 0 ? list : undefined;
    });
    expect(found?.pid).toBe(proc.pid);
    expect(found?.args).toBe(command);
    await proc.stop();
  });

  it('kill() stops the whole process tree', async () => {
    await using rt = labRuntime(lab, 'h1');
    const { command, marker } = uniqueSleep();
    const proc = await rt.spawn(sleepTree(command));
    await waitFor(async () => (await processesWith(lab, 'h1', marker)).length >= 3, { what: 'the three sleeps to start' });
    proc.kill();
    const outcome = await proc.outcome;
    expect(outcome.exitCode).toBeNull();
    expect(outcome.signal).toBe('SIGTERM');
    await waitFor(async () => (await processesWith(lab, 'h1', marker)).length === 0, { what: `no "${marker}" process left on h1` });
    expect(proc.running).toBe(false);
  });

  it('kill(signal) sends just that signal', async () => {
    await using rt = labRuntime(lab, 'h1');
    const proc = await rt.spawn('trap "echo got INT; exit 9" INT; while :; do sleep 0.05; done');
    const out = text(proc.stdout);
    proc.kill('SIGINT');
    expect(await proc.exited).toBe(9);
    expect(await out).toContain('got INT');
  });

  it('writes to stdin when spawned with stdin: true', async () => {
    await using rt = labRuntime(lab, 'h3');
    const proc = await rt.spawn(['cat'], { stdin: true });
    const out = text(proc.stdout);
    proc.write('hello ');
    proc.write(Buffer.from('world'));
    proc.endInput();
    expect(await proc.exited).toBe(0);
    expect(await out).toBe('hello world');
  });
});
