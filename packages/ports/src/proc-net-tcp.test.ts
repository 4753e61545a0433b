import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { listen, portOf } from '../test/listen.js';
import {
  buildListeningPortsCommand,
  LISTENING_PORTS_COMMAND,
  parseListeningPortsOutput,
  parseProcNetTcp,
  parseSsListening,
} from './proc-net-tcp.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const sample = JSON.parse(fixture('sample.json')) as {
  listening: Record<'v4Loopback' | 'v4Any' | 'v6Loopback' | 'v6Any' | 'dualStack' | 'v4Mapped', number>;
  notListening: Record<string, number>;
};
const { listening: l } = sample;
// 2024 was a listener of the capturing machine itself.
const ALL_LISTENING = new Set([2024, ...Object.values(l)]);
const NOT_LISTENING = Object.values(sample.notListening);

const sh = async (command: string) => (await promisify(execFile)('sh', ['-c', command])).stdout;

describe('parseProcNetTcp on captured samples', () => {
  it('finds exactly the IPv4 listeners in /proc/net/tcp (loopback and wildcard)', () => {
    expect(parseProcNetTcp(fixture('proc-net-tcp.txt'))).toEqual(new Set([2024, l.v4Loopback, l.v4Any]));
  });

  it('finds exactly the IPv6 listeners in /proc/net/tcp6: ::1, ::, dual-stack and IPv4-mapped', () => {
    expect(parseProcNetTcp(fixture('proc-net-tcp6.txt'))).toEqual(
      new Set([l.v6Loopback, l.v6Any, l.dualStack, l.v4Mapped]),
    );
  });

  it('ignores ESTABLISHED and TIME_WAIT sockets', () => {
    const text = fixture('proc-net-tcp.txt') + fixture('proc-net-tcp6.txt');
    expect(text).toMatch(/ 01 /);
    expect(text).toMatch(/ 06 /);
    const ports = parseProcNetTcp(text);
    for (const port of NOT_LISTENING) expect(ports.has(port)).toBe(false);
  });

  it('agrees with ss on the same instant when both files are concatenated', () => {
    const fromProc = parseProcNetTcp(fixture('proc-net-tcp.txt') + fixture('proc-net-tcp6.txt'));
    expect(fromProc).toEqual(ALL_LISTENING);
    expect(parseSsListening(fixture('ss-htln.txt'))).toEqual(fromProc);
  });

  it('returns nothing for headers and blank lines alone', () => {
    const headers = fixture('proc-net-tcp.txt').split('\n')[0]! + '\n\n' + fixture('proc-net-tcp6.txt').split('\n')[0]!;
    expect(parseProcNetTcp(`${headers}\n\n`)).toEqual(new Set());
  });

  it('fails loudly on a line that is not a socket line', () => {
    expect(() => parseProcNetTcp(`${fixture('proc-net-tcp.txt')}garbage here\n`)).toThrow(/Unexpected line in \/proc\/net\/tcp output: "garbage here"/);
  });
});

describe('parseSsListening', () => {
  it('skips the header of plain `ss -tln` and reads scoped addresses', () => {
    const text = [
      'State  Recv-Q Send-Q Local Address:Port  Peer Address:Port Process',
      'LISTEN 0      4096   127.0.0.53%lo:53         0.0.0.0:*',
      'LISTEN 0      128    [fe80::1%eth0]:2222         [::]:*',
    ].join('\n');
    expect(parseSsListening(text)).toEqual(new Set([53, 2222]));
  });

  it('fails loudly on a line without a port', () => {
    expect(() => parseSsListening('LISTEN 0 128 nonsense x')).toThrow(/Unexpected line in ss output/);
  });
});

describe('parseListeningPortsOutput', () => {
  it('reads the /proc form of the command output', () => {
    expect(parseListeningPortsOutput(fixture('command-output-proc.txt'))).toEqual(ALL_LISTENING);
  });

  it('reads the ss form of the command output', () => {
    expect(parseListeningPortsOutput(fixture('command-output-ss.txt'))).toEqual(ALL_LISTENING);
  });

  it('ignores what a login shell prints before and after the markers', () => {
    const noisy = `Welcome to node-a!\npyenv: warning 1234\n${fixture('command-output-proc.txt')}bye 5678\n`;
    expect(parseListeningPortsOutput(noisy)).toEqual(ALL_LISTENING);
  });

  it('rejects output without a start marker', () => {
    expect(() => parseListeningPortsOutput(fixture('proc-net-tcp.txt'))).toThrow(/no start marker/);
  });

  it('rejects output cut short before the end marker', () => {
    const cut = fixture('command-output-proc.txt').split('\n').slice(0, 4).join('\n');
    expect(() => parseListeningPortsOutput(cut)).toThrow(/cut short/);
  });

  it('rejects output saying neither /proc nor ss was usable', async () => {
    const output = await sh(`PATH=/nonexistent; ${buildListeningPortsCommand('/nonexistent')}`);
    expect(() => parseListeningPortsOutput(output)).toThrow(/Neither \/proc\/net\/tcp nor `ss` is usable/);
  });
});

describe('LISTENING_PORTS_COMMAND run with sh -c', () => {
  it('finds IPv4, IPv6 and dual-stack listeners opened just now, and not after they close', async () => {
    const ports: number[] = [];
    {
      await using v4 = await listen('127.0.0.1');
      await using v6 = await listen('::1');
      await using dual = await listen('::');
      ports.push(portOf(v4), portOf(v6), portOf(dual));
      const found = parseListeningPortsOutput(await sh(LISTENING_PORTS_COMMAND));
      for (const port of ports) expect(found.has(port)).toBe(true);
    }
    const after = parseListeningPortsOutput(await sh(LISTENING_PORTS_COMMAND));
    for (const port of ports) expect(after.has(port)).toBe(false);
  });

  it('reads /proc when it is readable', async () => {
    expect(await sh(LISTENING_PORTS_COMMAND)).toMatch(/^==lazycluster-ports:proc-net-tcp==\n/);
  });

  it('falls back to ss when /proc/net/tcp cannot be read, and still finds the listener', async () => {
    await using server = await listen('::1');
    const output = await sh(buildListeningPortsCommand('/nonexistent'));
    expect(output).toMatch(/^==lazycluster-ports:ss==\n/);
    expect(parseListeningPortsOutput(output).has(portOf(server))).toBe(true);
  });
});
