// A host's network cut mid-run (`ip link set <veth> down` in the root namespace) and
// restored. Runs on a private lab: a cut link would break every other test file using the
// shared one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execOnHost } from '@lazycluster/lab';
import { ConnectionError, Runtime } from '../../src/index.js';
import {
  cutLink,
  everyLabProcess,
  markedSleepSeconds,
  processesWith,
  recordFault,
  sshConfigOverriding,
  startFaultLab,
  timed,
  waitFor,
  type FaultLab,
} from '../../../../tooling/reliability/src/lab-faults.js';

// Small on purpose: a dead connection is noticed after ServerAliveInterval × (ServerAliveCountMax + 1),
// a new one gives up after ConnectTimeout.
const SERVER_ALIVE_SECONDS = 1;
const SERVER_ALIVE_COUNT = 2;
const CONNECT_TIMEOUT_SECONDS = 2;
const HEARTBEAT_SECONDS = 2;
// What "fast" means here: the configured bound plus room for a loaded 2-core machine.
const LOST_BOUND_MS = SERVER_ALIVE_SECONDS * (SERVER_ALIVE_COUNT + 1) * 1000 + 2500;
const CONNECT_BOUND_MS = CONNECT_TIMEOUT_SECONDS * 1000 + 2500;

let lab: FaultLab;
let sshConfig: { path: string } & AsyncDisposable;

beforeAll(async () => {
  lab = await startFaultLab(2);
  sshConfig = await sshConfigOverriding(
    lab,
    `Host *\n  ServerAliveInterval ${SERVER_ALIVE_SECONDS}\n  ServerAliveCountMax ${SERVER_ALIVE_COUNT}\n  ConnectTimeout ${CONNECT_TIMEOUT_SECONDS}`,
  );
});

afterAll(async () => {
  await sshConfig[Symbol.asyncDispose]();
  await lab[Symbol.asyncDispose]();
});

function runtimeOn(host: string, heartbeatSeconds: number): Runtime {
  return new Runtime(host, { sshConfigPath: sshConfig.path, agent: false, heartbeatSeconds });
}

async function existsOnHost(host: string, path: string): Promise<boolean> {
  return (await execOnHost(lab, host, ['test', '-e', path])).exitCode === 0;
}

describe('a host whose network is cut mid-run', () => {
  it('keeps an idle runtime\'s processes alive past heartbeatSeconds while the link is up', async () => {
    const heartbeatSeconds = 2;
    await using rt = runtimeOn('h1', heartbeatSeconds);
    const marker = markedSleepSeconds();
    const proc = await rt.spawn(['sleep', marker]);
    // Nothing to observe but the absence of a kill: stay idle for well over one heartbeat.
    await new Promise((resolve) => setTimeout(resolve, heartbeatSeconds * 2500));
    expect(proc.running).toBe(true);
    expect(await processesWith(lab, 'h1', marker)).toHaveLength(1);
  });

  it('fails commands fast with ConnectionError naming the host, stops its processes by heartbeat, and reconnects after the link is back', async ({ task }) => {
    const rt = runtimeOn('h1', HEARTBEAT_SECONDS);
    await using other = runtimeOn('h2', HEARTBEAT_SECONDS);
    try {
      const marker = markedSleepSeconds();
      await rt.spawn(['sleep', marker]);
      const workingDir = await rt.workingDir();
      const inFlight = timed(rt.exec(['sleep', '600']));
      await waitFor(async () => (await processesWith(lab, 'h1', 'sleep 600')).length > 0, { what: 'the in-flight command to start' });

      const link = await cutLink(lab, 'h1');
      const cutAt = performance.now();
      try {
        const lost = await inFlight;
        expect(lost.ok).toBe(false);
        if (lost.ok) return;
        expect(lost.error).toBeInstanceOf(ConnectionError);
        expect(lost.error).toMatchObject({ host: 'h1' });
        expect((lost.error as Error).message).toContain('h1');
        const detectMs = performance.now() - cutAt;
        expect(detectMs).toBeLessThan(LOST_BOUND_MS);

        const fresh = await timed(rt.exec('true'));
        expect(fresh.ok).toBe(false);
        if (fresh.ok) return;
        expect(fresh.error).toBeInstanceOf(ConnectionError);
        expect(fresh.error).toMatchObject({ host: 'h1' });
        expect(fresh.ms).toBeLessThan(CONNECT_BOUND_MS);

        // The rest of the lab is not affected.
        expect((await other.run('echo fine')).stdout).toBe('fine\n');

        // With the manager silent, the agent on h1 stops what it started and removes its temp dir.
        await waitFor(async () => (await processesWith(lab, 'h1', marker)).length === 0 && (await processesWith(lab, 'h1', 'sleep 600')).length === 0, {
          timeoutMs: HEARTBEAT_SECONDS * 1000 + 4000 - (performance.now() - cutAt),
          what: 'the heartbeat to stop the processes on h1',
        });
        expect(await existsOnHost('h1', workingDir)).toBe(false);

        await link.undo();
        const back = await rt.run('echo back');
        expect(back.stdout).toBe('back\n');
        expect(await rt.workingDir()).not.toBe(workingDir);

        await rt.cleanup();
        await other.cleanup();
        // The session of the dead connection ends once sshd hears the manager's reset.
        const leftovers = await waitFor(async () => ((await everyLabProcess(lab)).length === 0 ? [] : undefined), {
          timeoutMs: 20_000,
          what: 'no process left in the lab',
        });
        recordFault(task, {
          fault: 'network cut (veth down), heartbeat',
          expected: 'ConnectionError(h1) fast; processes stopped; reconnect',
          observed: `ConnectionError(h1) in ${Math.round(detectMs)} ms, new command ${Math.round(fresh.ms)} ms; reconnected`,
          detectMs,
          leftovers: leftovers.length,
        });
      } finally {
        await link.undo();
      }
    } finally {
      await rt.cleanup();
    }
  });

  it('does not hang cleanup during the cut, and the host\'s processes are gone once its link is back', async ({ task }) => {
    // A heartbeat far longer than the test: only the restored link can end the processes.
    const rt = runtimeOn('h2', 600);
    const marker = markedSleepSeconds();
    await rt.spawn(['sleep', marker]);
    await rt.spawn(`sleep ${marker} & (sleep ${marker} &); sleep ${marker}`);
    const workingDir = await rt.workingDir();
    await waitFor(async () => (await processesWith(lab, 'h2', marker)).length >= 4, { what: 'the sleeps to start' });

    const link = await cutLink(lab, 'h2');
    try {
      const cleanup = await timed(rt.cleanup());
      expect(cleanup.ok).toBe(true);
      expect(cleanup.ms).toBeLessThan(LOST_BOUND_MS);
      await expect(rt.exec('true')).rejects.toThrow(/cleaned up/);
    } finally {
      await link.undo();
    }
    const restoredAt = performance.now();
    await waitFor(async () => (await processesWith(lab, 'h2', marker)).length === 0 && !(await existsOnHost('h2', workingDir)), {
      timeoutMs: 25_000,
      intervalMs: 200,
      what: 'the processes and temp dir on h2 to be removed after the link came back',
    });
    const removedMs = performance.now() - restoredAt;
    const leftovers = await waitFor(async () => ((await everyLabProcess(lab)).length === 0 ? [] : undefined), { timeoutMs: 10_000, what: 'no process left in the lab' });
    recordFault(task, {
      fault: 'network cut, cleanup() during the cut',
      expected: 'cleanup returns; host clean once back',
      observed: `cleanup returned; host clean ${Math.round(removedMs)} ms after restore`,
      detectMs: removedMs,
      leftovers: leftovers.length,
    });
  });
});
