import { execFile } from 'node:child_process';
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  appendKnownHost,
  blobKeyType,
  checkHostKey,
  fingerprintSha256,
  hashKnownHostName,
  knownHostKeyTypes,
  knownHostName,
  parseKnownHosts,
} from './known-hosts.js';

const run = promisify(execFile);

function sshString(data: Buffer | string): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/** A real Ed25519 public key in SSH wire format. */
function ed25519Blob(): Buffer {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
  return Buffer.concat([sshString('ssh-ed25519'), sshString(raw)]);
}

function ecdsaBlob(curve: 'nistp256' | 'nistp384'): Buffer {
  const point = Buffer.concat([Buffer.from([4]), randomBytes(curve === 'nistp256' ? 64 : 96)]);
  return Buffer.concat([sshString(`ecdsa-sha2-${curve}`), sshString(curve), sshString(point)]);
}

function rsaBlob(): Buffer {
  return Buffer.concat([sshString('ssh-rsa'), sshString(Buffer.from([1, 0, 1])), sshString(randomBytes(257))]);
}

const line = (hosts: string, blob: Buffer, marker = ''): string =>
  `${marker ? `${marker} ` : ''}${hosts} ${blobKeyType(blob) ?? '?'} ${blob.toString('base64')}`;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lc-known-hosts-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function knownHosts(name: string, lines: string[]): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

describe('knownHostName', () => {
  it('uses the bare host on port 22 and [host]:port otherwise, lowercased', () => {
    expect(knownHostName('Box.Example', 22)).toBe('box.example');
    expect(knownHostName('box', 2222)).toBe('[box]:2222');
    expect(knownHostName('::1', 2222)).toBe('[::1]:2222');
    expect(knownHostName('::1', 22)).toBe('::1');
  });
});

describe('parseKnownHosts', () => {
  it('reads markers, pattern lists and hashed names, and skips comments and malformed lines', () => {
    const key = ed25519Blob();
    const b64 = key.toString('base64');
    const text = [
      '# comment',
      '',
      `a.lab,b.lab ssh-ed25519 ${b64} comment words`,
      `@revoked * ssh-ed25519 ${b64}`,
      `@cert-authority *.lab ssh-ed25519 ${b64}`,
      `${hashKnownHostName('c.lab')} ssh-ed25519 ${b64}`,
      `@bogus x ssh-ed25519 ${b64}`,
      `d.lab ssh-rsa ${b64}`,
      'e.lab ssh-ed25519 not*base64',
      'f.lab ssh-ed25519',
      `|2|abc|def ssh-ed25519 ${b64}`,
      `g.lab ssh-ed25519 ${b64}\r`,
    ].join('\n');
    const entries = parseKnownHosts(text, '/kh');
    expect(entries.map((e) => [e.line, e.marker, e.names.kind])).toEqual([
      [3, 'none', 'patterns'],
      [4, 'revoked', 'patterns'],
      [5, 'cert-authority', 'patterns'],
      [6, 'none', 'hashed'],
      [12, 'none', 'patterns'],
    ]);
    expect(entries[0]).toMatchObject({ file: '/kh', keyType: 'ssh-ed25519', names: { patterns: ['a.lab', 'b.lab'] } });
    expect(entries[0]?.keyBlob.equals(key)).toBe(true);
  });
});

describe('checkHostKey', () => {
  it('matches a plain entry on port 22 and a [host]:port entry on another port, not the other way round', async () => {
    const key = ed25519Blob();
    const file = await knownHosts('kh', [line('box', key), line('[other]:2222', key)]);
    expect(checkHostKey({ host: 'box', port: 22, keyType: 'ssh-ed25519', keyBlob: key, files: [file] })).toEqual({ status: 'match', file, line: 1 });
    expect(checkHostKey({ host: 'other', port: 2222, keyType: 'ssh-ed25519', keyBlob: key, files: [file] })).toMatchObject({ status: 'match', line: 2 });
    expect(checkHostKey({ host: 'box', port: 2222, keyType: 'ssh-ed25519', keyBlob: key, files: [file] }).status).toBe('unknown');
    expect(checkHostKey({ host: 'other', port: 22, keyType: 'ssh-ed25519', keyBlob: key, files: [file] }).status).toBe('unknown');
  });

  it('matches wildcard patterns case-insensitively and honours negation', async () => {
    const key = ed25519Blob();
    const file = await knownHosts('kh', [line('*.lab,!bad.lab', key), line('[node?.lab]:2222', key)]);
    const check = (host: string, port = 22): string => checkHostKey({ host, port, keyType: 'ssh-ed25519', keyBlob: key, files: [file] }).status;
    expect(check('gpu.lab')).toBe('match');
    expect(check('GPU.Lab')).toBe('match');
    expect(check('bad.lab')).toBe('unknown');
    expect(check('node1.lab', 2222)).toBe('match');
    expect(check('node12.lab', 2222)).toBe('unknown');
  });

  it('matches hashed entries made with HMAC-SHA1 of the name keyed by the salt', async () => {
    const key = ed25519Blob();
    const salt = randomBytes(20);
    const hash = createHmac('sha1', salt).update('[hidden.lab]:2200').digest();
    const file = await knownHosts('kh', [`|1|${salt.toString('base64')}|${hash.toString('base64')} ssh-ed25519 ${key.toString('base64')}`]);
    expect(checkHostKey({ host: 'hidden.lab', port: 2200, keyType: 'ssh-ed25519', keyBlob: key, files: [file] }).status).toBe('match');
    expect(checkHostKey({ host: 'hidden.lab', port: 22, keyType: 'ssh-ed25519', keyBlob: key, files: [file] }).status).toBe('unknown');
    expect(checkHostKey({ host: 'other.lab', port: 2200, keyType: 'ssh-ed25519', keyBlob: key, files: [file] }).status).toBe('unknown');
  });

  it('reports a different key of the same kind as a mismatch, naming the file and line', async () => {
    const old = ed25519Blob();
    const presented = ed25519Blob();
    const first = await knownHosts('first', [line('unrelated', old)]);
    const second = await knownHosts('second', ['# header', line('elsewhere', old), line('box,10.0.0.5', old)]);
    expect(checkHostKey({ host: 'box', port: 22, keyType: 'ssh-ed25519', keyBlob: presented, files: [first, second] })).toEqual({
      status: 'mismatch',
      file: second,
      line: 3,
      expectedType: 'ssh-ed25519',
    });
  });

  it('treats every ECDSA curve as one kind, as ssh does', async () => {
    const file = await knownHosts('kh', [line('box', ecdsaBlob('nistp256'))]);
    expect(checkHostKey({ host: 'box', port: 22, keyType: 'ecdsa-sha2-nistp384', keyBlob: ecdsaBlob('nistp384'), files: [file] })).toMatchObject({
      status: 'mismatch',
      expectedType: 'ecdsa-sha2-nistp256',
    });
  });

  it('leaves the host unknown when only keys of other kinds are recorded, listing them', async () => {
    const file = await knownHosts('kh', [line('box', rsaBlob())]);
    expect(checkHostKey({ host: 'box', port: 22, keyType: 'ssh-ed25519', keyBlob: ed25519Blob(), files: [file] })).toEqual({
      status: 'unknown',
      knownTypes: ['ssh-rsa'],
    });
  });

  it('uses the type inside the blob, so an rsa-sha2-512 algorithm name still finds the ssh-rsa entry', async () => {
    const key = rsaBlob();
    const file = await knownHosts('kh', [line('box', key)]);
    expect(checkHostKey({ host: 'box', port: 22, keyType: 'rsa-sha2-512', keyBlob: key, files: [file] }).status).toBe('match');
  });

  it('reports a key marked @revoked even when another line accepts it', async () => {
    const key = ed25519Blob();
    const file = await knownHosts('kh', [line('box', key), line('*', key, '@revoked')]);
    expect(checkHostKey({ host: 'box', port: 22, keyType: 'ssh-ed25519', keyBlob: key, files: [file] })).toEqual({ status: 'revoked', file, line: 2 });
  });

  it('does not let a @cert-authority key match a plain host key', async () => {
    const key = ed25519Blob();
    const file = await knownHosts('kh', [line('*.lab', key, '@cert-authority')]);
    expect(checkHostKey({ host: 'a.lab', port: 22, keyType: 'ssh-ed25519', keyBlob: key, files: [file] })).toEqual({ status: 'unknown', knownTypes: [] });
  });

  it('also looks up the aliases given, and only the HostKeyAlias when one is set', async () => {
    const key = ed25519Blob();
    const file = await knownHosts('kh', [line('gpu1', key), line('pinned', key)]);
    expect(checkHostKey({ host: '10.0.0.7', aliases: ['gpu1'], port: 22, keyBlob: key, files: [file] }).status).toBe('match');
    expect(checkHostKey({ host: '10.0.0.7', port: 22, keyBlob: key, files: [file] }).status).toBe('unknown');
    expect(checkHostKey({ host: 'gpu1', port: 2222, hostKeyAlias: 'pinned', keyBlob: key, files: [file] }).status).toBe('match');
    expect(checkHostKey({ host: 'gpu1', port: 22, hostKeyAlias: 'absent', keyBlob: key, files: [file] }).status).toBe('unknown');
  });

  it('skips files that do not exist', () => {
    expect(checkHostKey({ host: 'box', port: 22, keyBlob: ed25519Blob(), files: [join(dir, 'missing')] }).status).toBe('unknown');
  });
});

describe('knownHostKeyTypes', () => {
  it('lists the key types recorded for the host, leaving out CA and revoked lines', async () => {
    const file = await knownHosts('kh', [
      line('box', rsaBlob()),
      line('*', ed25519Blob(), '@cert-authority'),
      line('box', ecdsaBlob('nistp256')),
      line('box', ed25519Blob(), '@revoked'),
      line('other', ed25519Blob()),
    ]);
    expect(knownHostKeyTypes({ host: 'box', port: 22, files: [file] })).toEqual(['ssh-rsa', 'ecdsa-sha2-nistp256']);
  });
});

describe('appendKnownHost', () => {
  it('creates the directory 0700 and the file 0600, then finds the key it wrote', async () => {
    const file = join(dir, 'new', '.ssh', 'known_hosts');
    const key = ed25519Blob();
    appendKnownHost(file, 'Box.Lab', 2222, 'ssh-ed25519', key);
    expect((await stat(join(dir, 'new', '.ssh'))).mode & 0o777).toBe(0o700);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readFile(file, 'utf8')).toBe(`[box.lab]:2222 ssh-ed25519 ${key.toString('base64')}\n`);
    expect(checkHostKey({ host: 'box.lab', port: 2222, keyBlob: key, files: [file] }).status).toBe('match');
  });

  it('appends after existing lines, adding the newline a last line lacks', async () => {
    const file = join(dir, 'known_hosts');
    const first = ed25519Blob();
    await writeFile(file, line('first', first));
    const second = ed25519Blob();
    appendKnownHost(file, 'second', 22, 'ssh-ed25519', second);
    appendKnownHost(file, 'third', 22, 'ssh-ed25519', second, { hash: true });
    const lines = (await readFile(file, 'utf8')).split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[3]).toBe('');
    expect(lines[2]).toMatch(/^\|1\|[A-Za-z0-9+/=]+\|[A-Za-z0-9+/=]+ ssh-ed25519 /);
    expect(checkHostKey({ host: 'first', port: 22, keyBlob: first, files: [file] }).status).toBe('match');
    expect(checkHostKey({ host: 'second', port: 22, keyBlob: second, files: [file] }).status).toBe('match');
    expect(checkHostKey({ host: 'third', port: 22, keyBlob: second, files: [file] })).toEqual({ status: 'match', file, line: 3 });
  });
});

describe('fingerprintSha256', () => {
  it('is SHA256: and unpadded base64', () => {
    const fingerprint = fingerprintSha256(ed25519Blob());
    expect(fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });
});

const haveKeygen = await run('ssh-keygen', ['-?']).then(
  () => true,
  (error: unknown) => typeof error === 'object' && error !== null && 'code' in error && error.code !== 'ENOENT',
);

describe.skipIf(!haveKeygen)('interoperates with OpenSSH ssh-keygen', () => {
  async function realKey(): Promise<{ blob: Buffer; type: string; pubPath: string }> {
    const keyPath = join(dir, `key-${randomBytes(4).toString('hex')}`);
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test', '-f', keyPath]);
    const [type = '', b64 = ''] = (await readFile(`${keyPath}.pub`, 'utf8')).trim().split(' ');
    return { blob: Buffer.from(b64, 'base64'), type, pubPath: `${keyPath}.pub` };
  }

  it('matches the entries ssh-keygen -H hashed, and nothing else', async () => {
    const { blob, type } = await realKey();
    const file = await knownHosts('kh', [`real.lab ${type} ${blob.toString('base64')}`, `[real.lab]:2222 ${type} ${blob.toString('base64')}`]);
    await run('ssh-keygen', ['-H', '-f', file]);
    const text = await readFile(file, 'utf8');
    expect(text).not.toContain('real.lab');
    expect(parseKnownHosts(text, file).map((e) => e.names.kind)).toEqual(['hashed', 'hashed']);
    expect(checkHostKey({ host: 'real.lab', port: 22, keyType: type, keyBlob: blob, files: [file] })).toEqual({ status: 'match', file, line: 1 });
    expect(checkHostKey({ host: 'real.lab', port: 2222, keyType: type, keyBlob: blob, files: [file] })).toEqual({ status: 'match', file, line: 2 });
    expect(checkHostKey({ host: 'real.lab', port: 2200, keyType: type, keyBlob: blob, files: [file] }).status).toBe('unknown');
    expect(checkHostKey({ host: 'fake.lab', port: 22, keyType: type, keyBlob: blob, files: [file] }).status).toBe('unknown');
  });

  it('writes lines ssh-keygen -F finds, hashed or not', async () => {
    const { blob, type } = await realKey();
    const file = join(dir, 'appended');
    appendKnownHost(file, 'plain.lab', 2222, type, blob);
    appendKnownHost(file, 'hashed.lab', 22, type, blob, { hash: true });
    const plain = await run('ssh-keygen', ['-F', '[plain.lab]:2222', '-f', file]);
    expect(plain.stdout).toContain(blob.toString('base64'));
    const hashed = await run('ssh-keygen', ['-F', 'hashed.lab', '-f', file]);
    expect(hashed.stdout).toContain(blob.toString('base64'));
  });

  it('computes the fingerprint ssh-keygen -l prints', async () => {
    const { blob, pubPath } = await realKey();
    const { stdout } = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', pubPath]);
    expect(stdout.split(' ')[1]).toBe(fingerprintSha256(blob));
  });
});
