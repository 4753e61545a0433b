import { LazyclusterError } from './errors.js';

const LISTEN_STATE = '0A';

// One socket line: "  12: <local hex addr>:<hex port> <remote hex addr>:<hex port> <hex state> ...".
// Addresses are 8 hex digits in /proc/net/tcp and 32 in /proc/net/tcp6 (IPv4-mapped ones too).
const SOCKET_LINE = /^\s*\d+:\s+(?:[0-9A-F]{8}|[0-9A-F]{32}):([0-9A-F]{4})\s+(?:[0-9A-F]{8}|[0-9A-F]{32}):[0-9A-F]{4}\s+([0-9A-F]{2})(?:\s|$)/i;
const HEADER_LINE = /^\s*sl\s+local_address\s/;

/**
 * The TCP ports in state LISTEN in the text of Linux `/proc/net/tcp` and/or
 * `/proc/net/tcp6` (several files may be concatenated). Header and blank lines are
 * skipped; every other line must be a socket line, so a format change fails loudly
 * instead of hiding a listener.
 *
 * @throws LazyclusterError (`PROTOCOL`) on a line that is neither.
 */
export function parseProcNetTcp(text: string): Set<number> {
  const ports = new Set<number>();
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '' || HEADER_LINE.test(line)) continue;
    const match = SOCKET_LINE.exec(line);
    if (!match) throw unexpected('/proc/net/tcp', line);
    if (match[2]?.toUpperCase() === LISTEN_STATE) ports.add(Number.parseInt(match[1] ?? '', 16));
  }
  return ports;
}

/**
 * The ports in the output of `ss -Htln` (or `ss -tln`, whose header line is skipped).
 * Local addresses look like `0.0.0.0:22`, `[::]:22`, `*:22`, `[::ffff:127.0.0.1]:22` or
 * `127.0.0.53%lo:53`; the port is what follows the last colon.
 */
export function parseSsListening(text: string): Set<number> {
  const ports = new Set<number>();
  for (const line of text.split(/\r?\n/)) {
    const fields = line.trim().split(/\s+/);
    if (fields[0] === '' || fields[0] === 'State') continue;
    const local = fields[3] ?? '';
    const port = Number(local.slice(local.lastIndexOf(':') + 1));
    if (fields.length < 5 || !local.includes(':') || !Number.isInteger(port) || port < 1 || port > 65_535) {
      throw unexpected('ss', line);
    }
    if (fields[0] === 'LISTEN') ports.add(port);
  }
  return ports;
}

const MARK = '==lazycluster-ports';
const PROC_MARK = `${MARK}:proc-net-tcp==`;
const SS_MARK = `${MARK}:ss==`;
const FAILED_MARK = `${MARK}:failed==`;
const END_MARK = `${MARK}:end==`;

/**
 * Builds {@link LISTENING_PORTS_COMMAND}; `procNet` is a parameter only so tests can
 * point it at a missing directory and run the `ss` fallback for real.
 */
export function buildListeningPortsCommand(procNet = '/proc/net'): string {
  return [
    `if [ -r ${procNet}/tcp ]; then echo ${PROC_MARK}; cat ${procNet}/tcp ${procNet}/tcp6 2>/dev/null;`,
    `else echo ${SS_MARK}; ss -Htln 2>/dev/null || ss -tln || echo ${FAILED_MARK}; fi;`,
    `echo ${END_MARK}`,
  ].join(' ');
}

/**
 * One POSIX `sh` command that prints every listening TCP port of a Linux host, IPv4 and
 * IPv6, in a single round trip: the text of `/proc/net/tcp` and `/proc/net/tcp6`, or
 * `ss -Htln` when `/proc` cannot be read. Marker lines say which form follows and where
 * it ends, so text a login shell prints around it is ignored. Parse the output with
 * {@link parseListeningPortsOutput}.
 */
export const LISTENING_PORTS_COMMAND: string = buildListeningPortsCommand();

/**
 * The listening ports in the stdout of {@link LISTENING_PORTS_COMMAND}, in either form.
 *
 * @throws LazyclusterError (`PROTOCOL`) when the markers are missing (the command did not
 * run, or its output was cut short), when neither `/proc` nor `ss` was usable on the
 * host, or when a line cannot be parsed.
 */
export function parseListeningPortsOutput(stdout: string): Set<number> {
  const lines = stdout.split(/\r?\n/).map((line) => line.trim());
  const start = lines.findIndex((line) => line === PROC_MARK || line === SS_MARK);
  if (start === -1) {
    throw new LazyclusterError(
      'PROTOCOL',
      'The listening-ports command printed no start marker: it did not run, or not in a POSIX shell.',
    );
  }
  const end = lines.indexOf(END_MARK, start);
  if (end === -1) {
    throw new LazyclusterError('PROTOCOL', 'The listening-ports output ended before its end marker: it was cut short.');
  }
  const body = lines.slice(start + 1, end);
  if (body.includes(FAILED_MARK)) {
    throw new LazyclusterError(
      'PROTOCOL',
      'Neither /proc/net/tcp nor `ss` is usable on the host: install iproute2 (ss) or make /proc readable.',
    );
  }
  const text = body.join('\n');
  return lines[start] === PROC_MARK ? parseProcNetTcp(text) : parseSsListening(text);
}

function unexpected(source: string, line: string): LazyclusterError {
  return new LazyclusterError('PROTOCOL', `Unexpected line in ${source} output: "${line.trim()}".`);
}
