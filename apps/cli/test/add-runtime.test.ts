import { describe, expect, it } from 'vitest';
import { hostEntryOf } from '../src/commands/add-runtime/add-runtime.js';
import { isUsageError } from '../src/lib/errors.js';
import { canonicalKeyword, suggestKeyword } from '../src/lib/ssh-keywords.js';

const request = (overrides: Partial<Parameters<typeof hostEntryOf>[0]> = {}): Parameters<typeof hostEntryOf>[0] => ({
  name: 'gpu1',
  spec: 'me@10.0.0.5:2222',
  options: [],
  ...overrides,
});

function usageMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(isUsageError(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected a usage error');
}

describe('add-runtime input', () => {
  it('turns NAME, user@host:port, the key and the options into a Host entry', () => {
    const entry = hostEntryOf(request({ idFile: '/keys/id', options: ['proxyjump=gw', 'SetEnv=A=1', 'SetEnv=B=2'] }));
    expect(entry).toEqual({
      name: 'gpu1',
      hostName: '10.0.0.5',
      user: 'me',
      port: 2222,
      identityFile: '/keys/id',
      options: [
        { keyword: 'ProxyJump', value: 'gw' },
        { keyword: 'SetEnv', value: 'A=1' },
        { keyword: 'SetEnv', value: 'B=2' },
      ],
    });
  });

  it('accepts an IPv6 address in brackets and a host without user or port', () => {
    expect(hostEntryOf(request({ spec: 'root@[::1]:22' }))).toMatchObject({ hostName: '::1', user: 'root', port: 22 });
    expect(hostEntryOf(request({ spec: 'box.example.com' }))).toMatchObject({ hostName: 'box.example.com', user: undefined, port: undefined });
  });

  it('makes a relative key path absolute and leaves ~ paths to ssh', () => {
    expect(hostEntryOf(request({ idFile: 'keys/id' })).identityFile).toBe(`${process.cwd()}/keys/id`);
    expect(hostEntryOf(request({ idFile: '~/.ssh/id_ed25519' })).identityFile).toBe('~/.ssh/id_ed25519');
  });

  it('refuses names with wildcards, spaces, "@" or a leading "-", and localhost', () => {
    for (const name of ['a*', 'a b', 'me@h', '-x', 'a:1', '']) expect(usageMessage(() => hostEntryOf(request({ name })))).toMatch(/Invalid runtime name/);
    expect(usageMessage(() => hostEntryOf(request({ name: 'localhost' })))).toMatch(/manager itself/);
  });

  it('refuses malformed user@host:port with the reason', () => {
    expect(usageMessage(() => hostEntryOf(request({ spec: 'me@h:0' })))).toMatch(/port 0 is outside 1-65535/);
    expect(usageMessage(() => hostEntryOf(request({ spec: 'me@h:70000' })))).toMatch(/port 70000/);
    expect(usageMessage(() => hostEntryOf(request({ spec: 'me@' })))).toMatch(/host is empty/);
    expect(usageMessage(() => hostEntryOf(request({ spec: 'me@h:x' })))).toMatch(/not a number/);
  });

  it('refuses options that are not KEY=VALUE, unknown keywords (with a suggestion) and empty values', () => {
    expect(usageMessage(() => hostEntryOf(request({ options: ['ProxyJump'] })))).toMatch(/expects KEY=VALUE/);
    expect(usageMessage(() => hostEntryOf(request({ options: ['Prot=22'] })))).toMatch(/Unknown SSH option "Prot".*did you mean Port/);
    expect(usageMessage(() => hostEntryOf(request({ options: ['Frobnicate=1'] })))).not.toMatch(/did you mean/);
    expect(usageMessage(() => hostEntryOf(request({ options: ['User='] })))).toMatch(/empty value/);
    expect(usageMessage(() => hostEntryOf(request({ options: ['LocalCommand=a\nHost evil'] })))).toMatch(/control character/);
  });

  it('refuses options that change the structure or repeat what user@host:port gives', () => {
    expect(usageMessage(() => hostEntryOf(request({ options: ['Host=x'] })))).toMatch(/not accepted/);
    expect(usageMessage(() => hostEntryOf(request({ options: ['Include=/etc/x'] })))).toMatch(/not accepted/);
    expect(usageMessage(() => hostEntryOf(request({ options: ['HostName=y'] })))).toMatch(/comes from user@host/);
    expect(usageMessage(() => hostEntryOf(request({ options: ['User=other'] })))).toMatch(/User is given twice/);
    expect(usageMessage(() => hostEntryOf(request({ options: ['ProxyJump=a', 'ProxyJump=b'] })))).toMatch(/ProxyJump is given twice/);
    expect(usageMessage(() => hostEntryOf(request({ spec: 'me@h', options: ['Port=0'] })))).toMatch(/Port=0.*out of range/);
  });

  it('allows User and Port as options when user@host does not give them', () => {
    expect(hostEntryOf(request({ spec: 'h', options: ['User=me', 'Port=22'] })).options).toEqual([
      { keyword: 'User', value: 'me' },
      { keyword: 'Port', value: '22' },
    ]);
  });

  it('knows ssh_config keywords in any case and suggests close ones', () => {
    expect(canonicalKeyword('stricthostkeychecking')).toBe('StrictHostKeyChecking');
    expect(canonicalKeyword('NoSuchThing')).toBeUndefined();
    expect(suggestKeyword('IdentityFiel')).toBe('IdentityFile');
    expect(suggestKeyword('Prot')).toBe('Port');
  });
});
