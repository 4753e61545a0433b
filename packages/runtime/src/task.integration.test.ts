import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readLab } from '@lazycluster/lab';
import { RuntimeGroup, RuntimeTask, TaskExecutionError } from './index.js';
import { existsOnHost, labRuntime, tempDir } from '../test/lab-helpers.js';

const lab = await readLab();

const UPPERCASE = `
import pathlib

def main(src, dst):
    lines = pathlib.Path(src).read_text().splitlines()
    pathlib.Path(dst).write_text("\\n".join(line.upper() for line in lines) + "\\n")
    return {"lines": len(lines), "cwd": str(pathlib.Path.cwd())}
`;

describe('RuntimeTask on a lab host', () => {
  it('sends a file, transforms it with runPython and gets the result back', async () => {
    await using local = await tempDir();
    await using rt = labRuntime(lab, 'h1', { logDir: local.path });
    const input = join(local.path, 'input.txt');
    await writeFile(input, 'alpha\nbeta\ngamma\n');
    const output = join(local.path, 'output.txt');
    const task = new RuntimeTask('uppercase')
      .sendFile(input, 'in.txt')
      .runPython(UPPERCASE, { src: 'in.txt', dst: 'out.txt' })
      .getFile('out.txt', output);
    const run = await rt.executeTask(task);
    expect(await readFile(output, 'utf8')).toBe('ALPHA\nBETA\nGAMMA\n');
    expect(run.functionReturns).toEqual([{ lines: 3, cwd: await rt.workingDir() }]);
    expect(task.functionReturns).toEqual(run.functionReturns);
    expect(run.log.map((entry) => entry.ok)).toEqual([true, true, true]);
  });

  it('returns the values of runFunction steps, async functions included, in functionReturns', async () => {
    await using local = await tempDir();
    await using rt = labRuntime(lab, 'h2', { logDir: local.path, env: { GREETING: 'hello' } });
    const task = new RuntimeTask('functions')
      .runFunction((a: number, b: number) => a + b, 2, 3)
      .runFunction(
        async (name: string) => {
          await new Promise((resolve) => setTimeout(resolve, 20));
          return { greeting: `${process.env.GREETING ?? '?'} ${name}`, inWorkingDir: process.cwd() === process.env.WORKING_DIR };
        },
        'lab',
      )
      .runFunction(function nothing() {
        // Returns undefined, which travels as null.
      });
    await rt.executeTask(task);
    expect(task.functionReturns).toEqual([5, { greeting: 'hello lab', inWorkingDir: true }, null]);
    expect(rt.functionReturns).toEqual([5, { greeting: 'hello lab', inWorkingDir: true }, null]);
  });

  it('stops at a failing step with TaskExecutionError, and runs no later step', async () => {
    await using local = await tempDir();
    await using rt = labRuntime(lab, 'h1', { logDir: local.path });
    const task = new RuntimeTask('breaks')
      .runCommand('echo first > first.txt')
      .runCommand('echo working; for i in 1 2 3 4 5; do echo "noise $i" >&2; done; echo "the real reason" >&2; exit 42')
      .runCommand('touch later.txt');
    const error = await rt.executeTask(task).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskExecutionError);
    expect(error).toMatchObject({ code: 'TASK_EXECUTION', host: 'h1', task: 'breaks', exitCode: 42, step: { index: 1 } });
    const { stderrTail, message } = error as TaskExecutionError;
    expect(stderrTail.split('\n').at(-1)).toBe('the real reason');
    expect(message).toContain('the real reason');
    expect(message).toContain('step 2');
    const workingDir = await rt.workingDir();
    expect(await existsOnHost(lab, 'h1', `${workingDir}/first.txt`)).toBe(true);
    expect(await existsOnHost(lab, 'h1', `${workingDir}/later.txt`)).toBe(false);
    const [run] = rt.taskRuns;
    expect(run?.log.map((entry) => [entry.step, entry.ok, entry.exitCode])).toEqual([
      [0, true, 0],
      [1, false, 42],
    ]);
  });

  it('keeps the output of every step, even of steps that end at once', async () => {
    await using local = await tempDir();
    await using rt = labRuntime(lab, 'h1', { logDir: local.path });
    const task = new RuntimeTask('quick-steps');
    for (let i = 0; i < 100; i++) task.runCommand(`echo out-${i}; echo err-${i} >&2`);
    const run = await rt.executeTask(task);
    expect(run.log.filter((entry) => entry.stdout !== `out-${entry.step}\n` || entry.stderr !== `err-${entry.step}\n`)).toEqual([]);
  });

  it('reports a Python exception of runPython as TaskExecutionError with the traceback', async () => {
    await using local = await tempDir();
    await using rt = labRuntime(lab, 'h3', { logDir: local.path });
    const task = new RuntimeTask('raises').runPython('def main(n):\n    return 1 / n\n', { n: 0 });
    const error = await rt.executeTask(task).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskExecutionError);
    expect(error).toMatchObject({ host: 'h3', task: 'raises', step: { index: 0 }, exitCode: 1 });
    expect((error as TaskExecutionError).stderrTail).toContain('ZeroDivisionError');
  });

  it('writes a 0600 log file per run at <logDir>/execution_log/<host>/<task>_<timestamp>.log', async () => {
    await using local = await tempDir();
    await using rt = labRuntime(lab, 'h2', { logDir: local.path });
    const run = await rt.executeTask(new RuntimeTask('logged').runCommand('echo to-stdout; echo to-stderr >&2').runPython('def main():\n    print("from python")\n    return 7\n'));
    const dir = join(local.path, 'execution_log', 'h2');
    const files = await readdir(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^logged_\d{4}-\d\d-\d\dT[\d-]+(\.\d+)?Z\.log$/);
    const file = join(dir, files[0]!);
    expect(run.logFile).toBe(file);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const text = await readFile(file, 'utf8');
    expect(text).toContain('step 1');
    expect(text).toContain('to-stdout');
    expect(text).toContain('to-stderr');
    expect(text).toContain('step 2');
    expect(text).toContain('from python');
    const printed = new PassThrough();
    const chunks: Buffer[] = [];
    printed.on('data', (c: Buffer) => chunks.push(c));
    rt.printLog(printed);
    expect(Buffer.concat(chunks).toString()).toContain('to-stderr');
  });

  it('with debug: true streams every output line to `output`, prefixed with the host', async () => {
    await using local = await tempDir();
    await using rt = labRuntime(lab, 'h3', { logDir: local.path });
    const output = new PassThrough();
    const chunks: Buffer[] = [];
    output.on('data', (c: Buffer) => chunks.push(c));
    await rt.executeTask(new RuntimeTask('chatty').runCommand('echo line one; echo line two >&2; printf "no newline"'), { debug: true, output });
    const lines = Buffer.concat(chunks).toString().split('\n').filter((l) => l !== '');
    expect(lines.sort()).toEqual(['[h3] line one', '[h3] line two', '[h3] no newline']);
  });

  it('with async: true returns at once; join() waits for every task', async () => {
    await using local = await tempDir();
    await using rt = labRuntime(lab, 'h1', { logDir: local.path });
    await rt.connect();
    const gate = `${await rt.workingDir()}/gate`;
    // Each task waits for a file the test creates, so it is provably still running when executeTask returns.
    const waiting = (n: number): RuntimeTask =>
      new RuntimeTask(`waits-${n}`).runCommand(`while [ ! -e "${gate}" ]; do sleep 0.02; done`).runPython('def main(n):\n    return n * n\n', { n });
    const first = await rt.executeTask(waiting(3), { async: true });
    const second = await rt.executeTask(waiting(4), { async: true });
    expect(first.running).toBe(true);
    expect(second.running).toBe(true);
    expect(rt.activeTaskCount).toBe(2);
    await rt.run(['touch', gate]);
    await rt.join();
    expect(first.running).toBe(false);
    expect(rt.activeTaskCount).toBe(0);
    expect(rt.functionReturns).toEqual([9, 16]);
  });

  it('join() rejects with the failure of an async task', async () => {
    await using local = await tempDir();
    await using rt = labRuntime(lab, 'h2', { logDir: local.path });
    await rt.executeTask(new RuntimeTask('fine').runCommand('true'), { async: true });
    await rt.executeTask(new RuntimeTask('fails').runCommand('exit 5'), { async: true });
    const error = await rt.join().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskExecutionError);
    expect(error).toMatchObject({ task: 'fails', exitCode: 5 });
  });
});

describe('RuntimeGroup tasks on the lab', () => {
  it('runs a task on every host with all: true and collects functionReturns per runtime', async () => {
    await using local = await tempDir();
    await using group = new RuntimeGroup({ hosts: ['h1', 'h2', 'h3'], sshConfigPath: lab.sshConfigPath, agent: false, logDir: local.path });
    const task = new RuntimeTask('where').runPython('import subprocess\n\ndef main():\n    return subprocess.check_output(["hostname", "-I"], text=True).split()[0]\n');
    const runs = await group.executeTask(task, { all: true });
    expect(runs.map((r) => r.host)).toEqual(['h1', 'h2', 'h3']);
    expect(group.functionReturns).toEqual(lab.hosts.map((h) => h.address));
  });

  it('puts a task on the least busy runtime by default', async () => {
    await using local = await tempDir();
    await using group = new RuntimeGroup({ hosts: ['h1', 'h2'], sshConfigPath: lab.sshConfigPath, agent: false, logDir: local.path });
    await group.connect();
    // Relative: in the busy runtime's own working dir, removed at cleanup.
    const blocking = new RuntimeTask('blocking').runCommand('while [ ! -e gate ]; do sleep 0.02; done');
    const [busy] = await group.executeTask(blocking, { async: true });
    const [next] = await group.executeTask(new RuntimeTask('quick').runCommand('true'));
    expect(next?.host).not.toBe(busy?.host);
    await group.getRuntime(busy!.host).run(['touch', 'gate']);
    await group.join();
  });
});
