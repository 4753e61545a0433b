import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { freedPort, listen, portOf } from '../test/listen.js';
import { isLazyclusterError } from './errors.js';
import { LISTENING_PORTS_COMMAND } from './proc-net-tcp.js';
import { remoteProbe, type RunCommand } from './probe.js';

// Runs the command for real on this machine, the way a runtime runs it on a remote one.
const runHere: RunCommand = async (command, options) =>
  (await promisify(execFile)('sh', ['-c', command], options?.signal ? { signal: options.signal } : {})).stdout;

describe('remoteProbe', () => {
  it('runs the listening-ports command once and reports the candidates something listens on', async () => {
    await using server = await listen('::');
    const free = await freedPort();
    const commands: string[] = [];
    const probe = remoteProbe('node-a', (command, options) => {
      commands.push(command);
      return runHere(command, options);
    });
    expect(probe.host).toBe('node-a');
    expect(await probe.busyPorts([free, portOf(server)])).toEqual(new Set([portOf(server)]));
    expect(commands).toEqual([LISTENING_PORTS_COMMAND]);
  });

  it('passes the signal on to the command runner', async () => {
    const signal = new AbortController().signal;
    let received: AbortSignal | undefined;
    const probe = remoteProbe('node-a', (command, options) => {
      received = options?.signal;
      return runHere(command);
    });
    await probe.busyPorts([await freedPort()], { signal });
    expect(received).toBe(signal);
  });

  it('rejects with the runner’s own error when the command cannot run', async () => {
    const failure = new Error('connection lost');
    await expect(remoteProbe('node-a', () => Promise.reject(failure)).busyPorts([9000])).rejects.toBe(failure);
  });

  it('names the host when the output cannot be read', async () => {
    const error = await remoteProbe('node-a', () => Promise.resolve('fish: Unknown command: if\n'))
      .busyPorts([9000])
      .catch((e: unknown) => e);
    expect(isLazyclusterError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'PROTOCOL' });
    expect((error as Error).message).toMatch(/^Could not read the listening ports of node-a: /);
  });
});
