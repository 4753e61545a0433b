import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SshConfigError } from '../../errors.js';
import { concreteHosts, loadSshConfig, MAX_INCLUDE_DEPTH, resolveHost, type LoadSshConfigOptions, type SshConfig } from './ssh-config.js';

let dir: string;
let home: string;
let sshDir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lc-ssh-config-'));
  home = join(dir, 'home');
  sshDir = join(home, '.ssh');
  await mkdir(sshDir, { recursive: true });
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const env = (): LoadSshConfigOptions => ({
  homeDir: home,
  localUser: 'alice',
  uid: 1000,
  localHostname: 'mgr.example.org',
  env: { LAB: 'lab-a' },
});

async function write(path: string, text: string): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
  return path;
}

async function load(text: string, name = 'config'): Promise<SshConfig> {
  return loadSshConfig(await write(join(sshDir, name), text), env());
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

async function thrownAsync(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('resolveHost: OpenSSH semantics', () => {
  it('applies defaults when the config says nothing about the host', async () => {
    const config = await load('Host other\n  User bob\n');
    const host = resolveHost(config, 'plain.example.org');
    expect(host).toMatchObject({
      alias: 'plain.example.org',
      hostName: 'plain.example.org',
      user: 'alice',
      port: 22,
      identityFiles: [],
      identitiesOnly: false,
      userKnownHostsFiles: [join(sshDir, 'known_hosts'), join(sshDir, 'known_hosts2')],
      globalKnownHostsFiles: ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'],
      explicitlyConfigured: false,
    });
    expect(host.proxyJump).toBeUndefined();
    expect(host.strictHostKeyChecking).toBeUndefined();
  });

  it('offers the default keys that exist, ed25519 first, only when no IdentityFile applies', async () => {
    await write(join(sshDir, 'id_rsa'), 'x');
    await write(join(sshDir, 'id_ed25519'), 'x');
    const config = await load('Host keyed\n  IdentityFile ~/.ssh/special\n');
    expect(resolveHost(config, 'anything').identityFiles).toEqual([join(sshDir, 'id_ed25519'), join(sshDir, 'id_rsa')]);
    expect(resolveHost(config, 'keyed').identityFiles).toEqual([join(sshDir, 'special')]);
  });

  it('keeps the first value obtained, so specific blocks must come before Host *', async () => {
    const config = await load(
      ['Host db', '  User dbadmin', '  Port 2201', 'Host *', '  User everyone', '  Port 2200', 'Host db', '  User ignored', ''].join('\n'),
    );
    expect(resolveHost(config, 'db')).toMatchObject({ user: 'dbadmin', port: 2201 });
    expect(resolveHost(config, 'web')).toMatchObject({ user: 'everyone', port: 2200 });
  });

  it('accumulates IdentityFile from every matching block, without duplicates', async () => {
    const config = await load('Host db\n  IdentityFile ~/.ssh/db\nHost *\n  IdentityFile ~/.ssh/common\n  IdentityFile ~/.ssh/db\n');
    expect(resolveHost(config, 'db').identityFiles).toEqual([join(sshDir, 'db'), join(sshDir, 'common')]);
  });

  it('matches *, ? (exactly one character) and whitespace-separated lists', async () => {
    const config = await load('Host node? gpu-*.lab alpha\n  User matched\n');
    expect(resolveHost(config, 'node1').user).toBe('matched');
    expect(resolveHost(config, 'node12').user).toBe('alice');
    expect(resolveHost(config, 'node').user).toBe('alice');
    expect(resolveHost(config, 'gpu-a.lab').user).toBe('matched');
    expect(resolveHost(config, 'alpha').user).toBe('matched');
  });

  it('lets a matching negated pattern exclude the host whatever the other patterns say', async () => {
    const config = await load('Host web-* !web-secret\n  User web\nHost *\n  User fallback\n');
    expect(resolveHost(config, 'web-1').user).toBe('web');
    expect(resolveHost(config, 'web-secret').user).toBe('fallback');
  });

  it('does not split Host patterns on commas, as ssh does not', async () => {
    const config = await load('Host a,b\n  Port 2200\n');
    expect(resolveHost(config, 'a').port).toBe(22);
  });

  it('matches Host patterns case-sensitively against the name as given, and lowercases HostName', async () => {
    const config = await load('Host MyBox\n  HostName Box.Example.COM\n');
    expect(resolveHost(config, 'MyBox').hostName).toBe('box.example.com');
    expect(resolveHost(config, 'mybox').hostName).toBe('mybox');
    expect(resolveHost(config, 'UPPER.Example.ORG').hostName).toBe('upper.example.org');
  });

  it('reads keywords case-insensitively and accepts "=" as separator', async () => {
    const config = await load('hOsT=db\n  hOsTnAmE=10.0.0.9\n  PORT 2022\n  user = ops\n');
    expect(resolveHost(config, 'db')).toMatchObject({ hostName: '10.0.0.9', port: 2022, user: 'ops' });
  });

  it('expands %h in HostName to the name given', async () => {
    const config = await load('Host *.short\n  HostName %h.lab.example.org\n');
    expect(resolveHost(config, 'n1.short').hostName).toBe('n1.short.lab.example.org');
  });

  it('expands ~, ${VAR} and the %-tokens in IdentityFile and UserKnownHostsFile', async () => {
    const config = await load(
      [
        'Host box',
        '  HostName 10.1.2.3',
        '  User ops',
        '  Port 2222',
        '  IdentityFile ~/.ssh/%h-%p-%r-%u-%n-%i-%L-%l-%k-%%',
        '  IdentityFile %d/keys/${LAB}/id',
        '  IdentityFile ~alice/abs',
        '  UserKnownHostsFile ~/.ssh/kh_%n "%d/with space/kh" /kh/%C',
        '',
      ].join('\n'),
    );
    const host = resolveHost(config, 'box');
    expect(host.identityFiles).toEqual([
      join(sshDir, '10.1.2.3-2222-ops-alice-box-1000-mgr-mgr.example.org-box-%'),
      join(home, 'keys/lab-a/id'),
      join(home, 'abs'),
    ]);
    const hash = createHash('sha1').update('mgr.example.org10.1.2.32222ops').digest('hex');
    expect(host.userKnownHostsFiles).toEqual([join(sshDir, 'kh_box'), join(home, 'with space/kh'), `/kh/${hash}`]);
  });

  it('ignores a path with an unset ${VAR} and says so in warnings', async () => {
    const config = await load('Host box\n  IdentityFile ${NOT_SET}/id\n  IdentityFile ~/.ssh/ok\n');
    const host = resolveHost(config, 'box');
    expect(host.identityFiles).toEqual([join(sshDir, 'ok')]);
    expect(host.warnings.join('\n')).toMatch(/NOT_SET.*unset environment variable/);
  });

  it('expands %h %p %r %n in ProxyJump', async () => {
    const config = await load('Host *.inner\n  User ops\n  ProxyJump jump@gw-%n:%p\n');
    expect(resolveHost(config, 'a.inner').proxyJump).toBe('jump@gw-a.inner:22');
  });

  it('rejects an unknown %-token naming file and line', async () => {
    const config = await load('# keys\n\nHost box\n  IdentityFile ~/.ssh/%z\n');
    const error = thrown(() => resolveHost(config, 'box'));
    expect(error).toBeInstanceOf(SshConfigError);
    expect(error).toMatchObject({ code: 'CONFIG', file: join(sshDir, 'config'), line: 4 });
    expect((error as Error).message).toMatch(/unknown token %z/);
  });

  it('reads the other connection keys', async () => {
    const config = await load(
      [
        'Host box',
        '  StrictHostKeyChecking accept-new',
        '  ServerAliveInterval 1m',
        '  ServerAliveCountMax 5',
        '  ConnectTimeout 1m30s',
        '  AddressFamily inet6',
        '  IdentitiesOnly yes',
        '  HostKeyAlias box-key',
        '  IdentityAgent ~/agent.sock',
        'Host off',
        '  StrictHostKeyChecking off',
        '  ConnectTimeout none',
        '  UserKnownHostsFile none',
        '',
      ].join('\n'),
    );
    expect(resolveHost(config, 'box')).toMatchObject({
      strictHostKeyChecking: 'accept-new',
      serverAliveIntervalSec: 60,
      serverAliveCountMax: 5,
      connectTimeoutSec: 90,
      addressFamily: 'inet6',
      identitiesOnly: true,
      hostKeyAlias: 'box-key',
      identityAgent: join(home, 'agent.sock'),
    });
    const off = resolveHost(config, 'off');
    expect(off.strictHostKeyChecking).toBe('no');
    expect(off.connectTimeoutSec).toBeUndefined();
    expect(off.userKnownHostsFiles).toEqual([]);
  });

  it('keeps whichever of ProxyJump and ProxyCommand comes first', async () => {
    const config = await load(
      'Host a\n  ProxyCommand ssh -W "%h:%p" gw\nHost b\n  ProxyJump gw2\nHost *\n  ProxyJump gw\n  ProxyCommand nc %h %p\n',
    );
    const a = resolveHost(config, 'a');
    expect(a.proxyCommand).toBe('ssh -W "a:22" gw');
    expect(a.proxyJump).toBeUndefined();
    const b = resolveHost(config, 'b');
    expect(b.proxyJump).toBe('gw2');
    expect(b.proxyCommand).toBeUndefined();
  });

  it('treats ProxyJump none as no jump host', async () => {
    const config = await load('Host gw\n  ProxyJump none\nHost *\n  ProxyJump gw\n');
    expect(resolveHost(config, 'gw').proxyJump).toBeUndefined();
    expect(resolveHost(config, 'x').proxyJump).toBe('gw');
  });

  it('lets the caller override the config, offering its identity file first', async () => {
    const config = await load('Host box\n  User cfg\n  Port 2200\n  IdentityFile ~/.ssh/cfg\n  ProxyJump cfg-gw\n  StrictHostKeyChecking no\n');
    const host = resolveHost(config, 'box', {
      user: 'me',
      port: 2022,
      identityFile: '/keys/mine',
      proxyJump: 'my-gw',
      strictHostKeyChecking: 'yes',
    });
    expect(host).toMatchObject({ user: 'me', port: 2022, proxyJump: 'my-gw', strictHostKeyChecking: 'yes' });
    expect(host.identityFiles).toEqual(['/keys/mine', join(sshDir, 'cfg')]);
  });

  it('reports explicitlyConfigured for named hosts and patterns, not for a lone Host *', async () => {
    const config = await load('Host named\n  User x\nHost web-*\n  User y\nHost *\n  User z\nMatch originalhost m1\n  Port 2\n');
    expect(resolveHost(config, 'named').explicitlyConfigured).toBe(true);
    expect(resolveHost(config, 'web-3').explicitlyConfigured).toBe(true);
    expect(resolveHost(config, 'm1').explicitlyConfigured).toBe(true);
    expect(resolveHost(config, 'elsewhere').explicitlyConfigured).toBe(false);
  });
});

describe('resolveHost: Match', () => {
  it('matches host against the HostName so far and originalhost against the name given', async () => {
    const config = await load(
      ['Host alias1', '  HostName Real.Example.COM', 'Match host real.example.com', '  Port 5555', 'Match originalhost ALIAS1', '  User orig', ''].join('\n'),
    );
    expect(resolveHost(config, 'alias1')).toMatchObject({ port: 5555, user: 'orig' });
    expect(resolveHost(config, 'real.example.com').port).toBe(5555);
  });

  it('matches user against the user set so far (the override included), else the local user', async () => {
    const config = await load(['Host x', '  User cfg', 'Match user bob', '  Port 7777', 'Match user cfg', '  Port 8888', 'Match user alice', '  Port 9999', ''].join('\n'));
    expect(resolveHost(config, 'x', { user: 'bob' }).port).toBe(7777);
    expect(resolveHost(config, 'x').port).toBe(8888);
    expect(resolveHost(config, 'y').port).toBe(9999);
  });

  it('supports localuser, comma lists, negation and all', async () => {
    const config = await load(
      ['Match localuser bob,alice !host secret*', '  User viaLocal', 'Match all', '  Port 2022', ''].join('\n'),
    );
    expect(resolveHost(config, 'box')).toMatchObject({ user: 'viaLocal', port: 2022 });
    expect(resolveHost(config, 'secret1')).toMatchObject({ user: 'alice', port: 2022 });
  });

  it('never runs Match exec: its block does not apply and a warning says so', async () => {
    const marker = join(dir, 'exec-ran');
    const config = await load(`Match exec "touch ${marker}"\n  User fromExec\n`);
    const host = resolveHost(config, 'box');
    expect(host.user).toBe('alice');
    expect(host.warnings.join('\n')).toMatch(/Match exec.*not evaluated/);
    expect(existsSync(marker)).toBe(false);
  });

  it('runs a final pass for Match final, matching Host lines against the HostName', async () => {
    const config = await load(
      ['Host f', '  HostName final.example', 'Match final host final.example', '  User finaluser', 'Host final.example', '  Port 9191', ''].join('\n'),
    );
    expect(resolveHost(config, 'f')).toMatchObject({ hostName: 'final.example', user: 'finaluser', port: 9191 });
  });

  it('does not do a final pass without Match final', async () => {
    const config = await load(['Host f', '  HostName final.example', 'Host final.example', '  Port 9191', ''].join('\n'));
    expect(resolveHost(config, 'f').port).toBe(22);
  });
});

describe('loadSshConfig: Include', () => {
  it('resolves relative paths under ~/.ssh and expands globs in sorted order, skipping dotfiles', async () => {
    await write(join(sshDir, 'conf.d', '20-b.conf'), 'Host b\n  Port 2002\nHost shared\n  User from-b\n');
    await write(join(sshDir, 'conf.d', '10-a.conf'), 'Host a\n  Port 2001\nHost shared\n  User from-a\n');
    await write(join(sshDir, 'conf.d', '.hidden.conf'), 'Host hidden\n  Port 2003\n');
    await write(join(sshDir, 'conf.d', 'notes.txt'), 'Host txt\n  Port 2004\n');
    await write(join(sshDir, 'single'), 'Host single\n  Port 2005\n');
    const config = await load('Include conf.d/*.conf single\nInclude does-not-exist/*.conf missing-file\n');
    expect(resolveHost(config, 'a').port).toBe(2001);
    expect(resolveHost(config, 'b').port).toBe(2002);
    expect(resolveHost(config, 'shared').user).toBe('from-a');
    expect(resolveHost(config, 'single').port).toBe(2005);
    expect(resolveHost(config, 'hidden').port).toBe(22);
    expect(resolveHost(config, 'txt').port).toBe(22);
    expect(config.files).toEqual([
      join(sshDir, 'config'),
      join(sshDir, 'conf.d', '10-a.conf'),
      join(sshDir, 'conf.d', '20-b.conf'),
      join(sshDir, 'single'),
    ]);
  });

  it('expands wildcards in directory components and ~ in absolute form', async () => {
    await write(join(sshDir, 'teams', 'ml', 'config'), 'Host ml1\n  Port 3001\n');
    await write(join(sshDir, 'teams', 'web', 'config'), 'Host web1\n  Port 3002\n');
    const config = await load('Include ~/.ssh/teams/*/config\n');
    expect(resolveHost(config, 'ml1').port).toBe(3001);
    expect(resolveHost(config, 'web1').port).toBe(3002);
  });

  it('applies an Include inside a Host block only to hosts that block matches', async () => {
    await write(join(sshDir, 'inner.conf'), 'HostName inner-top\nHost outer-x other\n  Port 4444\nHost nomatch\n  Port 1\n');
    const config = await load('Host outer-*\n  Include inner.conf\n  User outeruser\nHost *\n  Port 1111\n');
    // The included file's trailing "Host nomatch" does not leak: the outer block is active again.
    expect(resolveHost(config, 'outer-y')).toMatchObject({ hostName: 'inner-top', user: 'outeruser', port: 1111 });
    expect(resolveHost(config, 'outer-x')).toMatchObject({ hostName: 'inner-top', port: 4444 });
    // "other" is named in the included file, but that file only applies under Host outer-*.
    expect(resolveHost(config, 'other')).toMatchObject({ hostName: 'other', user: 'alice', port: 1111 });
  });

  it('resolves relative includes against includeBaseDir when given', async () => {
    const base = join(dir, 'elsewhere');
    await write(join(base, 'extra.conf'), 'Host e\n  Port 2345\n');
    const path = await write(join(dir, 'cfg'), 'Include extra.conf\n');
    const config = await loadSshConfig(path, { ...env(), includeBaseDir: base });
    expect(resolveHost(config, 'e').port).toBe(2345);
  });

  it('cuts an Include cycle where it closes, with a warning, and still resolves', async () => {
    await write(join(sshDir, 'a.conf'), 'Include b.conf\nHost a\n  Port 2001\n');
    await write(join(sshDir, 'b.conf'), 'Include a.conf\nHost b\n  Port 2002\n');
    const config = await load('Include a.conf\n');
    expect(resolveHost(config, 'a').port).toBe(2001);
    expect(resolveHost(config, 'b').port).toBe(2002);
    expect(config.files).toEqual([join(sshDir, 'config'), join(sshDir, 'a.conf'), join(sshDir, 'b.conf')]);
    expect(config.warnings).toEqual([expect.stringMatching(/b\.conf line 1: Include of .*a\.conf skipped: it would include itself/)]);
  });

  it(`stops nesting after ${MAX_INCLUDE_DEPTH} levels with a warning`, async () => {
    for (let i = 1; i <= 20; i++) {
      await write(join(sshDir, `level${i}.conf`), `Include level${i + 1}.conf\nHost h${i}\n  Port ${3000 + i}\n`);
    }
    const config = await load('Include level1.conf\n');
    expect(resolveHost(config, 'h15').port).toBe(3015);
    expect(resolveHost(config, `h${MAX_INCLUDE_DEPTH - 1}`).port).toBe(3000 + MAX_INCLUDE_DEPTH - 1);
    expect(resolveHost(config, `h${MAX_INCLUDE_DEPTH}`).port).toBe(22);
    expect(config.warnings).toEqual([expect.stringMatching(/more than 16 nested Includes/)]);
  });

  it('reports a malformed line of an included file with that file and line', async () => {
    await write(join(sshDir, 'bad.conf'), '# fine\nHost ok\n  User "unterminated\n');
    const error = await thrownAsync(() => load('Host x\n  Port 1\nInclude bad.conf\n'));
    expect(error).toBeInstanceOf(SshConfigError);
    expect(error).toMatchObject({ file: join(sshDir, 'bad.conf'), line: 3 });
  });

  it('gives an empty config for a missing file, or an error when allowMissing is false', async () => {
    const missing = join(dir, 'nope', 'config');
    const config = await loadSshConfig(missing, env());
    expect(config.files).toEqual([]);
    expect(resolveHost(config, 'h')).toMatchObject({ hostName: 'h', user: 'alice', port: 22 });
    const error = await thrownAsync(() => loadSshConfig(missing, { ...env(), allowMissing: false }));
    expect(error).toBeInstanceOf(SshConfigError);
    expect((error as Error).message).toContain(missing);
  });
});

describe('malformed values', () => {
  it.each([
    ['Port 0', /Bad port "0"/],
    ['Port 70000', /Bad port "70000"/],
    ['Port ssh', /Bad port "ssh"/],
    ['Port 22 23', /Port takes one value/],
    ['User a b', /User takes one value/],
    ['StrictHostKeyChecking maybe', /StrictHostKeyChecking must be/],
    ['ConnectTimeout soon', /Bad time "soon"/],
    ['ServerAliveCountMax -1', /not a non-negative whole number/],
    ['IdentitiesOnly perhaps', /IdentitiesOnly must be yes or no/],
    ['AddressFamily ipx', /AddressFamily must be/],
    ['IdentityFile ~bob/id', /cannot expand "~bob"/],
    ['HostName %p.example', /unknown token %p/],
  ])('rejects "%s" with file and line', async (line, message) => {
    const config = await load(`# comment\n\nHost box\n  ${line}\n`);
    const error = thrown(() => resolveHost(config, 'box'));
    expect(error).toBeInstanceOf(SshConfigError);
    expect(error).toMatchObject({ code: 'CONFIG', file: join(sshDir, 'config'), line: 4 });
    expect((error as Error).message).toMatch(message);
  });

  it('does not reject a malformed value in a block that does not apply', async () => {
    const config = await load('Host other\n  Port 0\n');
    expect(resolveHost(config, 'box').port).toBe(22);
  });

  it.each([
    ['Host\n', 1],
    ['Host ok\n  User x\nMatch host\n', 3],
    ['Host ok\n\n  IdentityFile "~/.ssh/id\n', 3],
  ])('rejects an unparsable file %j at its line', async (text, line) => {
    const error = await thrownAsync(() => load(text));
    expect(error).toBeInstanceOf(SshConfigError);
    expect(error).toMatchObject({ file: join(sshDir, 'config'), line });
  });

  it.each([
    ['Host a\n  Port\n  User bob\n', 2, /Port has no value/],
    ['Host\n  User x\n', 1, /Host has no value/],
  ])('rejects a keyword without a value instead of reading the next line as its value (%j)', async (text, line, message) => {
    const error = await thrownAsync(() => load(text));
    expect(error).toBeInstanceOf(SshConfigError);
    expect(error).toMatchObject({ line });
    expect((error as Error).message).toMatch(message);
  });

  it('rejects an empty alias', async () => {
    const config = await load('');
    expect(() => resolveHost(config, '')).toThrow(SshConfigError);
  });
});

describe('concreteHosts', () => {
  it('lists exact aliases in file order without duplicates, wildcards or negations', async () => {
    await write(join(sshDir, 'conf.d', 'x.conf'), 'Host inc1 beta\n  Port 1\n');
    const config = await load(
      ['Host beta alpha', '  Port 1', 'Host web-* !web-secret db?', '  Port 2', 'Match all', 'Include conf.d/*.conf', 'Host gamma', 'Host *', '  User x', 'Host a,b', ''].join('\n'),
    );
    expect(concreteHosts(config)).toEqual(['beta', 'alpha', 'inc1', 'gamma']);
  });

  it('leaves out aliases in an included file whose enclosing Host block cannot match them', async () => {
    await write(join(sshDir, 'inner.conf'), 'Host outer-1 stray\n  Port 2\n');
    const config = await load('Host outer-*\n  Include inner.conf\n');
    expect(concreteHosts(config)).toEqual(['outer-1']);
  });
});

// Differential check against the real ssh client, when there is one: `ssh -G` prints the
// configuration ssh would use. Only absolute Includes, since ssh reads ~ from the passwd entry.
const sshG = promisify(execFile);
const haveSsh = await sshG('ssh', ['-V']).then(
  () => true,
  () => false,
);

describe.skipIf(!haveSsh)('agrees with ssh -G', () => {
  async function sshConfigOf(configPath: string, host: string): Promise<Map<string, string>> {
    const { stdout } = await sshG('ssh', ['-F', configPath, '-G', host]);
    const out = new Map<string, string>();
    for (const line of stdout.split('\n')) {
      const space = line.indexOf(' ');
      if (space > 0 && !out.has(line.slice(0, space))) out.set(line.slice(0, space), line.slice(space + 1));
    }
    return out;
  }

  it.each(['MyBox', 'mybox', 'q1', 'q12', 'web-1', 'web-secret', 'web-extra', 'outer-y', 'f', 'alias1', 'Mixed.Host.ORG', 'a'])(
    'resolves %s like ssh does',
    async (alias) => {
      const inc = await write(join(dir, 'inc.conf'), 'Port 3333\nHost web-extra\n  User extrauser\n  ConnectTimeout 7\nHost nomatch\n  Port 1\n');
      const path = await write(
        join(dir, 'ssh_config'),
        [
          'Host MyBox',
          '  HostName 10.1.1.1',
          'Host q?',
          '  User qmatch',
          'Host web-* !web-secret',
          '  User webuser',
          `  Include ${inc}`,
          '  ServerAliveInterval 2m',
          'Host f',
          '  HostName final.example',
          'Match final host final.example',
          '  User finaluser',
          'Host final.example',
          '  Port 9191',
          'Host alias1',
          '  HostName Mixed.Example.COM',
          '  UserKnownHostsFile /x/%h/%n/%k/%C ~/kh2',
          'Match host mixed.example.com',
          '  Port 5555',
          'Host a,b',
          '  Port 2200',
          'Host *',
          '  StrictHostKeyChecking accept-new',
          '  ConnectTimeout 1m30s',
          '',
        ].join('\n'),
      );
      const ours = resolveHost(await loadSshConfig(path), alias);
      const theirs = await sshConfigOf(path, alias);
      expect(ours.hostName).toBe(theirs.get('hostname'));
      expect(ours.user).toBe(theirs.get('user'));
      expect(String(ours.port)).toBe(theirs.get('port'));
      expect(ours.userKnownHostsFiles.join(' ')).toBe(theirs.get('userknownhostsfile'));
      expect(String(ours.connectTimeoutSec)).toBe(theirs.get('connecttimeout'));
      expect(String(ours.serverAliveIntervalSec ?? 0)).toBe(theirs.get('serveraliveinterval'));
      expect(ours.strictHostKeyChecking).toBe(theirs.get('stricthostkeychecking'));
    },
  );
});
