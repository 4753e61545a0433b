import { isIPv6 } from 'node:net';
import { SshConfigError } from '../../errors.js';

/** A host as a user writes it: an SSH config alias or a host name, with an optional user and port. */
export interface HostSpec {
  readonly user?: string;
  readonly host: string;
  readonly port?: number;
}

const FORMS = 'expected ALIAS, HOST, USER@HOST, USER@HOST:PORT, [IPV6]:PORT or ssh://USER@HOST:PORT';

// Characters that would let a host or user name smuggle shell syntax into a ProxyCommand
// (%h, %r) or be read as something else than a name; OpenSSH refuses most of the same ones.
const FORBIDDEN = /[\s\p{Cc}'"`$\\;&<>|(){}[\],*?!#=/]/u;

/**
 * Parses `alias`, `host`, `user@host`, `user@host:port`, `[ipv6]:port`, `user@[::1]:2222`,
 * a bare IPv6 address, or an `ssh://` URI.
 *
 * @throws {@link SshConfigError} when the spec is empty, has a bad port, whitespace or control
 * characters, or a part starting with `-` (which ssh would read as an option).
 * @example parseHostSpec('me@[::1]:2222') // { user: 'me', host: '::1', port: 2222 }
 */
export function parseHostSpec(spec: string): HostSpec {
  const fail = (why: string): never => {
    throw new SshConfigError({ problem: `Invalid host ${JSON.stringify(spec)}: ${why}; ${FORMS}.` });
  };
  if (typeof spec !== 'string') fail('not a string');
  if (spec.length === 0) fail('it is empty');
  if (/[\p{Cc}]/u.test(spec)) fail('it contains a control character');
  if (/\s/.test(spec)) fail('it contains whitespace');
  if (spec.startsWith('-')) fail('it starts with "-", which ssh would read as an option');

  let rest = spec;
  if (/^ssh:\/\//i.test(rest)) {
    rest = rest.slice('ssh://'.length).replace(/\/$/, '');
    if (rest.length === 0) fail('the URI has no host');
  }

  let user: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
    if (user.length === 0) fail('the user before "@" is empty');
    if (user.startsWith('-')) fail('the user starts with "-"');
    if (FORBIDDEN.test(user)) fail(`the user ${JSON.stringify(user)} contains a character not allowed in a user name`);
  }

  let host: string;
  let portText: string | undefined;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) fail('"[" is not closed by "]"');
    host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after.length > 0) {
      if (!after.startsWith(':')) fail(`unexpected ${JSON.stringify(after)} after "]"`);
      portText = after.slice(1);
    }
    if (host.includes(':') && !isIPv6(host.replace(/%[^%]+$/, ''))) fail(`${JSON.stringify(host)} is not an IPv6 address`);
  } else {
    const colons = rest.split(':').length - 1;
    if (colons > 1) {
      // A bare IPv6 address: it cannot carry a port without brackets.
      if (!isIPv6(rest.replace(/%[^%]+$/, ''))) fail('more than one ":" outside brackets (put an IPv6 address in [])');
      host = rest;
    } else if (colons === 1) {
      const colon = rest.indexOf(':');
      host = rest.slice(0, colon);
      portText = rest.slice(colon + 1);
    } else {
      host = rest;
    }
  }

  if (host.length === 0) fail('the host is empty');
  if (host.startsWith('-')) fail('the host starts with "-", which ssh would read as an option');
  if (!host.includes(':') && FORBIDDEN.test(host)) fail(`the host ${JSON.stringify(host)} contains a character not allowed in a host name`);

  let port: number | undefined;
  if (portText !== undefined) {
    if (!/^[0-9]{1,5}$/.test(portText)) fail(`the port ${JSON.stringify(portText)} is not a number`);
    port = Number(portText);
    if (port < 1 || port > 65535) fail(`the port ${port} is outside 1-65535`);
  }

  return { ...(user === undefined ? {} : { user }), host, ...(port === undefined ? {} : { port }) };
}

/**
 * Formats a spec back to the `user@host:port` form, bracketing IPv6 addresses.
 * `parseHostSpec(formatHostSpec(s))` returns `s` for every spec.
 */
export function formatHostSpec(spec: HostSpec): string {
  const needsBrackets = spec.host.includes(':');
  const host = needsBrackets && spec.port !== undefined ? `[${spec.host}]` : spec.host;
  return `${spec.user === undefined ? '' : `${spec.user}@`}${host}${spec.port === undefined ? '' : `:${spec.port}`}`;
}
