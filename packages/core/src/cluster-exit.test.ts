import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// A real program, run with tsx against the workspace sources, that starts a cluster on the
// manager's 'localhost' runtime; these tests kill it and check that nothing it started survives.
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const CHILD = fileURLToPath(new URL('../test/fixtures/signal-child.ts', import.meta.url));
const TSCONFIG = fileURLToPath(new URL('../test/fixtures/tsx.tsconfig.json', import.meta.url));

interface Ready {
  readonly pids: number[];
  readonly ports: number[];
}

interface Run {
  readonly child: ChildProcess;
  readonly ready: Promise<Ready>;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly stdout: () => string;
  readonly stderr: () => string;
}

async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, async () => {
      const server = createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return server;
    }),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    return address.port;
  });
  await Promise.all(servers.map(async (server) => await new Promise((resolve) => server.close(resolve))));
  return ports;
}

function runChild(mode: 'wait' | 'reject', ports: number[]): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, mode, JSON.stringify(ports)], {
    cwd: ROOT,
    env: { ...process.env, TSX_TSCONFIG_PATH: TSCONFIG },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const ready = new Promise<Ready>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.includes('"event":"ready"'));
      if (line !== undefined) resolve(JSON.parse(line) as Ready);
    });
    void exit.then(({ code }) => reject(new Error(`the child exited with ${code} before it was ready: ${err}`)));
  });
  return { child, ready, exit, stdout: () => out, stderr: () => err };
}

/** True while `pid` is a live (not zombie) process. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Command lines of processes (other than this one) that run an http.server on one of `ports`. */
function processesOnPorts(ports: readonly number[]): string[] {
  const lines: string[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name) && name !== `${process.pid}`)) {
    try {
      lines.push(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' '));
    } catch {
      // It exited meanwhile.
    }
  }
  return lines.filter((line) => ports.some((port) => line.includes(`http.server ${port}`)));
}

describe('cleanup when the process is told to go', { timeout: 60_000 }, () => {
  it('cleans up a live cluster on SIGINT and exits with 130', async () => {
    const run = runChild('wait', await freePorts(4));
    try {
      const { pids, ports } = await run.ready;
      expect(pids).toHaveLength(3);
      expect(pids.every(alive)).toBe(true);
      run.child.kill('SIGINT');
      const { code } = await run.exit;
      expect(code).toBe(130);
      expect(run.stdout()).toContain('{"event":"cleanup-started","reason":"signal"}');
      expect(run.stdout()).toContain('{"event":"cleanup-done","reason":"signal","errors":0}');
      expect(pids.filter(alive)).toEqual([]);
      expect(processesOnPorts(ports)).toEqual([]);
    } finally {
      run.child.kill('SIGKILL');
    }
  });

  it('cleans up on SIGTERM and exits with 143', async () => {
    const run = runChild('wait', await freePorts(4));
    try {
      const { pids } = await run.ready;
      run.child.kill('SIGTERM');
      expect((await run.exit).code).toBe(143);
      expect(pids.filter(alive)).toEqual([]);
    } finally {
      run.child.kill('SIGKILL');
    }
  });

  it('cleans up after an unhandled rejection, prints it and exits with 1', async () => {
    const run = runChild('reject', await freePorts(4));
    try {
      const { pids } = await run.ready;
      expect((await run.exit).code).toBe(1);
      expect(run.stdout()).toContain('{"event":"cleanup-done","reason":"uncaught-exception","errors":0}');
      expect(run.stderr()).toContain('unhandled boom');
      expect(pids.filter(alive)).toEqual([]);
    } finally {
      run.child.kill('SIGKILL');
    }
  });
});
