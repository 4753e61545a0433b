import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SshConfigError } from '../../errors.js';
import { resolveRuntimeHost } from './resolve-runtime-host.js';

let dir: string;
let configPath: string;
const environment = { homeDir: '/home/alice', localUser: 'alice', uid: 1000, localHostname: 'mgr', env: {} };

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lc-runtime-host-'));
  configPath = join(dir, 'config');
  await writeFile(
    configPath,
    [
      'Host gpu1',
      '  HostName 10.0.0.7',
      '  User ml',
      '  ProxyJump ops@bastion:2200',
      'Host bastion',
      '  HostName bastion.example.org',
      '  ProxyJump none',
      'Host deep',
      '  ProxyJump gpu1',
      'Host chain',
      '  ProxyJump a,b',
      'Host legacy',
      '  ProxyCommand nc %h %p',
      'Host plain',
      '  HostName 10.0.0.9',
      '',
    ].join('\n'),
  );
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('resolveRuntimeHost', () => {
  it('resolves an alias and its jump host through the same config', async () => {
    const { target, jump } = await resolveRuntimeHost('gpu1', { sshConfigPath: configPath, environment });
    expect(target).toMatchObject({ alias: 'gpu1', hostName: '10.0.0.7', user: 'ml', port: 22, proxyJump: 'ops@bastion:2200' });
    expect(jump).toMatchObject({ alias: 'bastion', hostName: 'bastion.example.org', user: 'ops', port: 2200 });
  });

  it('takes user and port from user@host:port, and lets explicit options win over both', async () => {
    const fromSpec = await resolveRuntimeHost('bob@plain:2022', { sshConfigPath: configPath, environment });
    expect(fromSpec.target).toMatchObject({ hostName: '10.0.0.9', user: 'bob', port: 2022 });
    expect(fromSpec.jump).toBeUndefined();
    const explicit = await resolveRuntimeHost('bob@plain:2022', { sshConfigPath: configPath, environment, user: 'carol', port: 2023 });
    expect(explicit.target).toMatchObject({ user: 'carol', port: 2023 });
  });

  it('lets the proxyJump option replace the config one', async () => {
    const { jump } = await resolveRuntimeHost('gpu1', { sshConfigPath: configPath, environment, proxyJump: 'plain' });
    expect(jump).toMatchObject({ alias: 'plain', hostName: '10.0.0.9' });
  });

  it('works without any config file', async () => {
    const { target } = await resolveRuntimeHost('me@somewhere', { sshConfigPath: join(dir, 'absent'), environment });
    expect(target).toMatchObject({ hostName: 'somewhere', user: 'me', port: 22 });
  });

  it.each([
    ['chain', /2 hops; only one jump host is supported/],
    ['deep', /jump host gpu1 of deep needs a jump host itself/],
    ['legacy', /ProxyCommand "nc legacy 22".*use ProxyJump/],
    ['-oProxyCommand=x', /starts with "-"/],
  ])('rejects %s with a CONFIG error that says what to change', async (host, message) => {
    const error = await resolveRuntimeHost(host, { sshConfigPath: configPath, environment }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SshConfigError);
    expect((error as Error).message).toMatch(message);
  });
});
