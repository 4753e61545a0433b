import { describe, expect, it } from 'vitest';
import { SshConfigError } from '../../errors.js';
import { formatHostSpec, parseHostSpec } from './host-spec.js';

describe('parseHostSpec', () => {
  it.each([
    ['gpu1', { host: 'gpu1' }],
    ['node-1.lab.example.org', { host: 'node-1.lab.example.org' }],
    ['me@10.0.0.5', { user: 'me', host: '10.0.0.5' }],
    ['me@10.0.0.5:2222', { user: 'me', host: '10.0.0.5', port: 2222 }],
    ['box:22', { host: 'box', port: 22 }],
    ['[::1]:2222', { host: '::1', port: 2222 }],
    ['user@[::1]:2222', { user: 'user', host: '::1', port: 2222 }],
    ['[fe80::1%eth0]:22', { host: 'fe80::1%eth0', port: 22 }],
    ['[gpu1]:2200', { host: 'gpu1', port: 2200 }],
    ['::1', { host: '::1' }],
    ['root@2001:db8::7', { user: 'root', host: '2001:db8::7' }],
    ['ssh://me@host:2022', { user: 'me', host: 'host', port: 2022 }],
    ['ssh://host/', { host: 'host' }],
    ['first.last@corp@host', { user: 'first.last@corp', host: 'host' }],
    ['me@h:65535', { user: 'me', host: 'h', port: 65535 }],
  ])('parses %s', (spec, expected) => {
    expect(parseHostSpec(spec)).toEqual(expected);
  });

  it.each([
    ['', /empty/],
    ['me@host:0', /outside 1-65535/],
    ['me@host:70000', /outside 1-65535/],
    ['host:abc', /not a number/],
    ['host:', /not a number/],
    ['host:+22', /not a number/],
    ['my host', /whitespace/],
    ['host\n', /control character/],
    ['ho\u0000st', /control character/],
    ['-oProxyCommand=id', /starts with "-"/],
    ['me@-oProxyCommand=x', /host starts with "-"/],
    ['-me@host', /starts with "-"/],
    ['x@-host:22', /host starts with "-"/],
    ['@host', /user before "@" is empty/],
    ['me@', /host is empty/],
    ['me@:22', /host is empty/],
    ['[::1', /not closed/],
    ['[::1]x', /unexpected/],
    ['1:2:3', /more than one ":"/],
    ['host;reboot', /not allowed in a host name/],
    ['$(id)@host', /not allowed in a user name/],
    ['web-*', /not allowed in a host name/],
    ['ssh://', /no host/],
  ])('rejects %j', (spec, message) => {
    expect(() => parseHostSpec(spec)).toThrow(message);
  });

  it('throws a CONFIG-coded SshConfigError that quotes the input and lists the accepted forms', () => {
    const error = (() => {
      try {
        parseHostSpec('me@host:99999');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(SshConfigError);
    expect(error).toMatchObject({ code: 'CONFIG', file: undefined });
    expect((error as Error).message).toContain('"me@host:99999"');
    expect((error as Error).message).toContain('USER@HOST:PORT');
  });
});

describe('formatHostSpec', () => {
  it.each(['gpu1', 'me@h', 'me@h:2222', 'u@[::1]:22', '::1', '[fe80::1%eth0]:2200'])('round-trips %s', (spec) => {
    expect(parseHostSpec(formatHostSpec(parseHostSpec(spec)))).toEqual(parseHostSpec(spec));
  });
});
