// The three parts of the load run, each on a RuntimeGroup over the load lab's hosts:
// concurrent commands, many tunnels at once, and a Dask soak under a stream of tasks with a
// worker restart every minute.
import { spawn } from 'node:child_process';
import { readdir, readlink } from 'node:fs/promises';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { createInterface } from 'node:readline';
import { DaskCluster } from '@lazycluster/dask';
import { execOnHost, type LabDescription } from '@lazycluster/lab';
import { PortInUseError, RuntimeGroup, type Runtime, type Tunnel } from '@lazycluster/runtime';
import { everyLabProcess, pidAlive, run, waitFor } from '../lab-faults.js';

/** Latency figures of many operations, in milliseconds. */
export interface Latencies {
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
  readonly max: number;
}

function latencies(samples: readonly number[]): Latencies {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { count: sorted.length, p50: at(0.5), p95: at(0.95), max: sorted.at(-1) ?? 0 };
}

export interface CommandsResult {
  readonly issued: number;
  readonly correct: number;
  readonly failures: readonly string[];
  readonly wallMs: number;
  readonly latency: Latencies;
}

/** Issues `count` commands at once, round-robin over the group; each must print its own answer. */
export async function concurrentCommands(group: RuntimeGroup, count: number): Promise<CommandsResult> {
  const runtimes = group.runtimes;
  await Promise.all(runtimes.map(async (rt) => await rt.connect()));
  const samples: number[] = [];
  const failures: string[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const rt = runtimes[i % runtimes.length] as Runtime;
      const t0 = performance.now();
      try {
        const { stdout, exitCode } = await rt.exec(['/bin/sh', '-c', 'printf "%s:%s" "$1" "$(($2 * $2))"', 'sh', rt.host, String(i)]);
        samples.push(performance.now() - t0);
        if (exitCode !== 0 || stdout !== `${rt.host}:${i * i}`) failures.push(`command ${i} on ${rt.host}: exit ${exitCode}, "${stdout}"`);
      } catch (error) {
        failures.push(`command ${i} on ${rt.host}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }),
  );
  return { issued: count, correct: count - failures.length, failures, wallMs: performance.now() - started, latency: latencies(samples) };
}

export interface TunnelsResult {
  readonly direction: string;
  readonly opened: number;
  readonly carried: number;
  readonly failures: readonly string[];
  readonly openMs: number;
  readonly trafficMs: number;
  /** Listeners of the tunnels still open after they were closed. */
  readonly leftOpen: number;
}

/** A TCP echo server on the manager's loopback. */
async function echoServer(): Promise<Server & { port: number }> {
  const server = createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  return Object.assign(server, { port: (server.address() as AddressInfo).port });
}

// Connects to each port given on the command line, sends "<payload>\n", reads the echo.
const PROBE_PORTS = `
import json, socket, sys
out = {}
for arg in sys.argv[1:]:
    port, payload = arg.split("=", 1)
    try:
        s = socket.create_connection(("127.0.0.1", int(port)), timeout=20)
        s.sendall((payload + "\\n").encode())
        data = b""
        while not data.endswith(b"\\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
        out[port] = data.decode().strip()
    except OSError as e:
        out[port] = "error: %s" % e
print(json.dumps(out))
`;

/** `count` tunnels from the manager to the runtimes, all open at once, each carrying its own message. */
export async function tunnelsToRuntimes(group: RuntimeGroup, count: number, firstPort: number): Promise<TunnelsResult> {
  const echo = await echoServer();
  const runtimes = group.runtimes;
  const failures: string[] = [];
  try {
    const t0 = performance.now();
    const opened = await Promise.allSettled(Array.from({ length: count }, async (_, i) => await (runtimes[i % runtimes.length] as Runtime).exposePortToRuntime(echo.port, firstPort + i)));
    const openMs = performance.now() - t0;
    const tunnels = opened.flatMap((r, i) => (r.status === 'fulfilled' ? [{ i, tunnel: r.value }] : (failures.push(`open ${i}: ${String(r.reason)}`), [])));
    const t1 = performance.now();
    let carried = 0;
    await Promise.all(
      runtimes.map(async (rt, h) => {
        const mine = tunnels.filter(({ i }) => i % runtimes.length === h);
        if (mine.length === 0) return;
        const { stdout } = await rt.run(['/usr/bin/python3', '-c', PROBE_PORTS, ...mine.map(({ i }) => `${firstPort + i}=tunnel-${i}-${rt.host}`)]);
        const answers = JSON.parse(stdout) as Record<string, string>;
        for (const { i } of mine) {
          if (answers[String(firstPort + i)] === `tunnel-${i}-${rt.host}`) carried++;
          else failures.push(`tunnel ${i} on ${rt.host}: got ${answers[String(firstPort + i)] ?? 'nothing'}`);
        }
      }),
    );
    const trafficMs = performance.now() - t1;
    await Promise.all(tunnels.map(async ({ tunnel }) => await tunnel.close()));
    return { direction: 'manager -> runtimes', opened: tunnels.length, carried, failures, openMs, trafficMs, leftOpen: 0 };
  } finally {
    await new Promise<void>((resolve) => echo.close(() => resolve()));
  }
}

// An echo server on the host's loopback for the reverse tunnels; it prints READY once listening.
const ECHO_SERVER = `
import socket, threading, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(256)
print("READY", flush=True)
def serve(c):
    with c:
        while True:
            d = c.recv(4096)
            if not d:
                return
            c.sendall(d)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
`;

/** A port the OS hands out on the manager's loopback right now. */
async function managerPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function roundTrip(port: number, payload: string): Promise<string> {
  return await new Promise<string>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let data = '';
    socket.setTimeout(20_000, () => socket.destroy(new Error('timed out')));
    socket.on('connect', () => socket.write(`${payload}\n`));
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString();
      if (data.endsWith('\n')) socket.end();
    });
    socket.on('close', () => resolve(data.trim()));
    socket.on('error', (error) => resolve(`error: ${error.message}`));
  });
}

/** `count` tunnels from the runtimes to the manager, all open at once, each carrying its own message. */
export async function tunnelsFromRuntimes(group: RuntimeGroup, count: number, servicePort: number): Promise<TunnelsResult> {
  const runtimes = group.runtimes;
  const failures: string[] = [];
  const servers = await Promise.all(
    runtimes.map(async (rt) => {
      const proc = await rt.spawn(['/usr/bin/python3', '-c', ECHO_SERVER, String(servicePort)]);
      await new Promise<void>((resolve, reject) => {
        createInterface({ input: proc.stdout }).once('line', () => resolve());
        void proc.exited.then((code) => reject(new Error(`the echo server on ${rt.host} exited with ${code}`)));
      });
      return proc;
    }),
  );
  let tunnels: Tunnel[] = [];
  try {
    const ports = await Promise.all(Array.from({ length: count }, managerPort));
    const t0 = performance.now();
    const opened = await Promise.allSettled(ports.map(async (port, i) => await (runtimes[i % runtimes.length] as Runtime).exposePortFromRuntime(servicePort, port)));
    const openMs = performance.now() - t0;
    tunnels = opened.flatMap((r, i) => (r.status === 'fulfilled' ? [r.value] : (failures.push(`open ${i}: ${String(r.reason)}`), [])));
    const t1 = performance.now();
    const answers = await Promise.all(ports.map(async (port, i) => ({ i, port, answer: await roundTrip(port, `reverse-${i}`) })));
    const trafficMs = performance.now() - t1;
    let carried = 0;
    for (const { i, answer } of answers) {
      if (answer === `reverse-${i}`) carried++;
      else failures.push(`reverse tunnel ${i}: got ${answer}`);
    }
    await Promise.all(tunnels.map(async (t) => await t.close()));
    tunnels = [];
    const stillOpen = (await Promise.all(ports.map(async (port) => (await roundTrip(port, 'closed?')).startsWith('error')))).filter((refused) => !refused).length;
    return { direction: 'runtimes -> manager', opened: count - failures.filter((f) => f.startsWith('open')).length, carried, failures, openMs, trafficMs, leftOpen: stillOpen };
  } finally {
    await Promise.all(tunnels.map(async (t) => await t.close()));
    await Promise.all(servers.map(async (proc) => await proc.stop()));
  }
}

/** What the manager process holds, sampled during the soak. */
export interface ManagerSample {
  readonly atMs: number;
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  readonly openFds: number;
  /** Open descriptors by kind: socket, pipe, anon_inode, file... */
  readonly fdKinds: Readonly<Record<string, number>>;
  readonly activeResources: number;
}

async function sampleManager(startedAt: number): Promise<ManagerSample> {
  // gc() exists when node runs with --expose-gc (the load run does); a settled heap compares fairly.
  (globalThis as { gc?: () => void }).gc?.();
  const memory = process.memoryUsage();
  const fds = await readdir('/proc/self/fd');
  const fdKinds: Record<string, number> = {};
  for (const fd of fds) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => 'gone');
    const kind = /^(\w+):/.exec(target)?.[1] ?? 'file';
    fdKinds[kind] = (fdKinds[kind] ?? 0) + 1;
  }
  return {
    atMs: performance.now() - startedAt,
    rssBytes: memory.rss,
    heapUsedBytes: memory.heapUsed,
    openFds: fds.length,
    fdKinds,
    activeResources: process.getActiveResourcesInfo().length,
  };
}

export interface SoakResult {
  readonly minutes: number;
  readonly workers: number;
  readonly batches: number;
  readonly tasks: number;
  readonly wrong: number;
  readonly restarts: number;
  readonly samples: readonly ManagerSample[];
  /** Index of the sample taken after the warm-up: the start the end is compared with. */
  readonly baseline: number;
  readonly leftovers: readonly string[];
  readonly errors: readonly string[];
}

// Submits batches of small tasks until its stdin closes; prints one JSON line per batch.
const TASK_STREAM = `
import json, random, sys, threading, time
from distributed import Client

stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()

def work(x):
    return x * 3 + 1

with Client(timeout=60) as client:
    while not stop.is_set():
        xs = [random.randint(0, 10**9) for _ in range(20)]
        try:
            results = client.gather(client.map(work, xs, pure=False))
            wrong = sum(1 for x, r in zip(xs, results) if r != x * 3 + 1)
            print(json.dumps({"tasks": len(xs), "wrong": wrong}), flush=True)
        except Exception as e:
            print(json.dumps({"tasks": len(xs), "wrong": len(xs), "error": repr(e)[:200]}), flush=True)
        time.sleep(0.2)
`;

/**
 * A Dask cluster with one worker per host, a steady stream of small tasks from Python on the
 * manager, and one worker killed (SIGKILL) and replaced through `scale()` every minute.
 */
export async function soak(lab: LabDescription, minutes: number, log: (line: string) => void): Promise<SoakResult> {
  const hosts = lab.hosts.map((h) => h.name);
  const cluster = new DaskCluster(new RuntimeGroup({ hosts, sshConfigPath: lab.sshConfigPath, agent: false }), { worker: { nthreads: 1 } });
  const errors: string[] = [];
  const pids: number[] = [];
  cluster.on('worker-started', ({ pid }) => pids.push(pid));
  cluster.on('master-started', ({ pid }) => pids.push(pid));
  let batches = 0;
  let tasks = 0;
  let wrong = 0;
  let restarts = 0;
  const samples: ManagerSample[] = [];
  let baseline = 0;
  try {
    await cluster.start({ timeoutMs: 120_000 });
    log(`soak: ${hosts.length} workers up at ${cluster.schedulerAddress ?? '?'}; ${minutes} min`);
    const driver = spawn('/usr/bin/python3', ['-c', TASK_STREAM], { env: { ...process.env, ...cluster.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const driverDone = new Promise<void>((resolve) => driver.once('exit', () => resolve()));
    driver.stderr.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      if (/Traceback|Error/.test(text)) errors.push(`driver: ${text.trim().slice(0, 200)}`);
    });
    createInterface({ input: driver.stdout }).on('line', (line) => {
      try {
        const batch = JSON.parse(line) as { tasks: number; wrong: number; error?: string };
        batches++;
        tasks += batch.tasks;
        wrong += batch.wrong;
        if (batch.error !== undefined) errors.push(`batch ${batches}: ${batch.error}`);
      } catch {
        errors.push(`driver said: ${line.slice(0, 200)}`);
      }
    });
    const startedAt = performance.now();
    const end = startedAt + minutes * 60_000;
    // Connection pools and caches fill during the first minute; the baseline is taken after it.
    const warmUp = startedAt + Math.min(60_000, (minutes * 60_000) / 5);
    samples.push(await sampleManager(startedAt));
    let nextRestart = startedAt + 60_000;
    let nextSample = startedAt + 10_000;
    let warmedUp = false;
    while (performance.now() < end) {
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(nextRestart, nextSample, warmedUp ? end : warmUp, end) - performance.now())));
      const now = performance.now();
      if (now >= nextSample || (now >= warmUp && !warmedUp)) {
        samples.push(await sampleManager(startedAt));
        if (now >= warmUp && !warmedUp) {
          warmedUp = true;
          baseline = samples.length - 1;
        }
        nextSample = Math.max(nextSample + 10_000, now);
      }
      if (now >= nextRestart && now < end) {
        nextRestart += 60_000;
        const victim = cluster.status().workers[restarts % hosts.length];
        if (victim === undefined) continue;
        const exited = new Promise<void>((resolve) => {
          const stop = cluster.on('worker-exited', (e) => {
            if (e.index === victim.index) {
              stop();
              resolve();
            }
          });
        });
        process.kill(victim.pid, 'SIGKILL');
        await exited;
        await cluster.scale(hosts.length);
        restarts++;
        log(`soak: ${Math.round((performance.now() - startedAt) / 1000)} s, restarted worker ${victim.index} on ${victim.host}; ${tasks} tasks, ${wrong} wrong`);
      }
    }
    driver.stdin.end();
    await Promise.race([driverDone, new Promise((resolve) => setTimeout(resolve, 30_000))]);
    if (driver.exitCode === null) driver.kill('SIGKILL');
    samples.push(await sampleManager(startedAt));
  } catch (error) {
    errors.push(error instanceof Error ? error.message : String(error));
    if (error instanceof PortInUseError) {
      // Who holds it, seen at once: the report should say, not just that it was taken.
      for (const host of error.hosts) {
        const ss = host === 'localhost' ? await run('ss', ['-Htlnp']).catch(() => '') : (await execOnHost(lab, host, ['ss', '-Htlnp'])).stdout;
        for (const line of ss.split('\n').filter((l) => l.includes(`:${error.port} `))) errors.push(`  ${host}: ${line.trim()}`);
      }
    }
  } finally {
    await cluster.cleanup();
  }
  let leftovers: string[] = [];
  await waitFor(
    async () => {
      leftovers = [...(await everyLabProcess(lab)).map((p) => `${p.host}: ${p.pid} ${p.args.slice(0, 60)}`), ...pids.filter(pidAlive).map((pid) => `pid ${pid}`)];
      return leftovers.length === 0;
    },
    { timeoutMs: 20_000, intervalMs: 250, what: 'nothing left after the soak' },
  ).catch(() => undefined);
  return { minutes, workers: hosts.length, batches, tasks, wrong, restarts, samples, baseline, leftovers, errors };
}

