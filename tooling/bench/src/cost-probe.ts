// Run as a child process by the manager-cost bench: a fresh Node process, so the RSS and fd
// deltas are this process's alone and not the leftovers of earlier benches in the parent.
//   node --expose-gc --import tsx src/cost-probe.ts '{"what":"runtimes"|"tunnels","sshConfigPath":…,"hosts":[…],"count":N}'
// Prints one JSON line: { rssKiB: [before, after], fds: [before, after] }.
import { readdir, readFile } from 'node:fs/promises';
import { Runtime, type Tunnel } from '@lazycluster/runtime';
import { freeLocalPort } from './tcp.js';

interface Request {
  readonly what: 'runtimes' | 'tunnels';
  readonly sshConfigPath: string;
  readonly hosts: readonly string[];
  readonly count: number;
}

async function sample(): Promise<{ rssKiB: number; fds: number }> {
  (globalThis as { gc?: () => void }).gc?.();
  const status = await readFile('/proc/self/status', 'utf8');
  return { rssKiB: Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]), fds: (await readdir('/proc/self/fd')).length };
}

const request = JSON.parse(process.argv[2] ?? '{}') as Request;
const open = (host: string): Runtime => new Runtime(host, { sshConfigPath: request.sshConfigPath });
const hostAt = (i: number): string => request.hosts[i % request.hosts.length] ?? 'h1';

// One untimed round first: code loaded on first use (ssh2, the agent) is not a per-runtime cost.
const warm = open(hostAt(0));
await warm.run('true');
await (await warm.exposePortFromRuntime(22, await freeLocalPort())).close();
let before;
let after;
if (request.what === 'runtimes') {
  await warm.cleanup();
  before = await sample();
  const runtimes = Array.from({ length: request.count }, (_, i) => open(hostAt(i)));
  await Promise.all(runtimes.map(async (runtime) => await runtime.run('true')));
  after = await sample();
  await Promise.all(runtimes.map(async (runtime) => await runtime.cleanup()));
} else {
  before = await sample();
  const tunnels: Tunnel[] = [];
  for (let i = 0; i < request.count; i++) tunnels.push(await warm.exposePortFromRuntime(22, await freeLocalPort()));
  after = await sample();
  for (const tunnel of tunnels) await tunnel.close();
  await warm.cleanup();
}
process.stdout.write(`${JSON.stringify({ rssKiB: [before.rssKiB, after.rssKiB], fds: [before.fds, after.fds] })}\n`);
process.exit(0);
