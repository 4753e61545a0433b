/**
 * known_hosts reading, checking and appending, following OpenSSH's hostfile.c: a host is
 * looked up as `host` on port 22 and `[host]:port` otherwise; a key of the same kind but other
 * bytes is a change, a key of only other kinds leaves the host unknown; `@revoked` beats
 * everything; `@cert-authority` lines hold CA keys, which never match a plain host key.
 *
 * The functions are synchronous on purpose: ssh2's hostVerifier is usually written as a
 * synchronous callback, and a known_hosts file is read once per connection.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { matchPatternList } from './patterns.js';

/** What a known_hosts line says about its key. */
export type KnownHostMarker = 'none' | 'revoked' | 'cert-authority';

/** The host field of a known_hosts line: hashed (`|1|salt|hash`) or a comma list of patterns. */
export type KnownHostNames =
  | { readonly kind: 'hashed'; readonly salt: Buffer; readonly hash: Buffer }
  | { readonly kind: 'patterns'; readonly patterns: readonly string[] };

/** One valid line of a known_hosts file. */
export interface KnownHostEntry {
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  readonly marker: KnownHostMarker;
  readonly names: KnownHostNames;
  /** The key type inside the key blob, e.g. `ssh-ed25519`. */
  readonly keyType: string;
  readonly keyBlob: Buffer;
}

/**
 * Parses known_hosts text. Comments, blank lines and malformed lines (unknown marker, bad
 * base64, a key type that disagrees with the blob) are skipped, as ssh does.
 */
export function parseKnownHosts(text: string, file: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  const lines = text.split('\n');
  for (const [index, raw] of lines.entries()) {
    const entry = parseLine(raw.trim(), file, index + 1);
    if (entry !== undefined) entries.push(entry);
  }
  return entries;
}

function parseLine(text: string, file: string, line: number): KnownHostEntry | undefined {
  if (text === '' || text.startsWith('#')) return undefined;
  const fields = text.split(/\s+/);
  let marker: KnownHostMarker = 'none';
  if (fields[0]?.startsWith('@')) {
    const word = fields.shift();
    if (word === '@revoked') marker = 'revoked';
    else if (word === '@cert-authority') marker = 'cert-authority';
    else return undefined;
  }
  const [hostField, typeField, keyField] = fields;
  if (hostField === undefined || typeField === undefined || keyField === undefined) return undefined;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(keyField)) return undefined;
  const keyBlob = Buffer.from(keyField, 'base64');
  const keyType = blobKeyType(keyBlob);
  if (keyType === undefined || keyType !== typeField) return undefined;
  const names = parseNames(hostField);
  if (names === undefined) return undefined;
  return { file, line, marker, names, keyType, keyBlob };
}

function parseNames(field: string): KnownHostNames | undefined {
  if (!field.startsWith('|')) return { kind: 'patterns', patterns: field.split(',') };
  const parts = field.split('|');
  // ['', '1', salt, hash]: only the HMAC-SHA1 scheme (magic 1) exists.
  if (parts.length !== 4 || parts[1] !== '1') return undefined;
  const salt = Buffer.from(parts[2] ?? '', 'base64');
  const hash = Buffer.from(parts[3] ?? '', 'base64');
  if (salt.length !== 20 || hash.length !== 20) return undefined;
  return { kind: 'hashed', salt, hash };
}

/** The key type named at the start of an SSH wire-format public key blob, if well formed. */
export function blobKeyType(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const length = blob.readUInt32BE(0);
  if (length === 0 || length > 64 || 4 + length > blob.length) return undefined;
  const type = blob.subarray(4, 4 + length).toString('latin1');
  return /^[\x21-\x7e]+$/.test(type) ? type : undefined;
}

/** The name known_hosts records a host under: `host` on port 22, `[host]:port` otherwise. */
export function knownHostName(host: string, port: number): string {
  const lower = host.toLowerCase();
  return port === 22 ? lower : `[${lower}]:${port}`;
}

/** OpenSSH's hashed host field for `name`: `|1|` + base64 salt + `|` + base64 HMAC-SHA1(salt, name). */
export function hashKnownHostName(name: string, salt: Buffer = randomBytes(20)): string {
  const hash = createHmac('sha1', salt).update(name).digest();
  return `|1|${salt.toString('base64')}|${hash.toString('base64')}`;
}

/** Whether a known_hosts entry's host field covers `name` (already in known_hosts form). */
export function entryMatchesName(entry: KnownHostEntry, name: string): boolean {
  if (entry.names.kind === 'hashed') {
    const hash = createHmac('sha1', entry.names.salt).update(name).digest();
    return timingSafeEqual(hash, entry.names.hash);
  }
  return matchPatternList(name, entry.names.patterns, { ignoreCase: true }) === 'match';
}

/**
 * Key kinds as OpenSSH's sshkey_type_plain compares them: every ECDSA curve is one kind, a
 * certificate is the kind of its key, and the rsa-sha2 signature names are RSA.
 */
export function keyKind(type: string): string {
  const plain = type.replace(/-cert-v0[01]@openssh\.com$/, '');
  if (plain.startsWith('ecdsa-sha2-')) return 'ecdsa';
  if (plain.startsWith('sk-ecdsa-sha2-')) return 'sk-ecdsa';
  if (plain === 'rsa-sha2-256' || plain === 'rsa-sha2-512') return 'ssh-rsa';
  return plain;
}

/** The outcome of {@link checkHostKey}. */
export type HostKeyCheck =
  | { readonly status: 'match'; readonly file: string; readonly line: number }
  | { readonly status: 'mismatch'; readonly file: string; readonly line: number; readonly expectedType: string }
  | { readonly status: 'revoked'; readonly file: string; readonly line: number }
  /** `knownTypes`: key types known for the host that differ in kind from the one presented. */
  | { readonly status: 'unknown'; readonly knownTypes: readonly string[] };

/** Options of {@link checkHostKey}. */
export interface CheckHostKeyOptions {
  /** The name connected to: the resolved HostName. */
  readonly host: string;
  readonly port: number;
  /**
   * Type of the presented key. The blob's own type is used when it can be read, so an
   * algorithm name like `rsa-sha2-512` is fine here.
   */
  readonly keyType?: string;
  readonly keyBlob: Buffer;
  /** known_hosts files, in order; missing or unreadable ones are skipped. */
  readonly files: readonly string[];
  /**
   * Other names of the same host to look up too, e.g. the SSH config alias or the IP address
   * connected to. Any name holding the presented key makes it a match.
   */
  readonly aliases?: readonly string[];
  /** HostKeyAlias: when set, only this name is looked up, verbatim (no port), as ssh does. */
  readonly hostKeyAlias?: string;
}

/**
 * Checks a presented host key against known_hosts files. Result precedence: `revoked` (the key
 * is marked `@revoked` for any of the names), then `match` (an entry for any name holds exactly
 * this key), then `mismatch` (an entry holds another key of the same kind: the first one is
 * reported), else `unknown`.
 */
export function checkHostKey(options: CheckHostKeyOptions): HostKeyCheck {
  const names =
    options.hostKeyAlias === undefined
      ? [...new Set([options.host, ...(options.aliases ?? [])].map((name) => knownHostName(name, options.port)))]
      : [options.hostKeyAlias];
  const entries = readEntries(options.files).filter((entry) => names.some((name) => entryMatchesName(entry, name)));
  const presentedType = blobKeyType(options.keyBlob) ?? options.keyType ?? '';
  const presentedKind = keyKind(presentedType);

  const revoked = entries.find((e) => e.marker === 'revoked' && e.keyBlob.equals(options.keyBlob));
  if (revoked !== undefined) return { status: 'revoked', file: revoked.file, line: revoked.line };

  const plain = entries.filter((e) => e.marker === 'none');
  const matched = plain.find((e) => e.keyBlob.equals(options.keyBlob));
  if (matched !== undefined) return { status: 'match', file: matched.file, line: matched.line };

  const changed = plain.find((e) => keyKind(e.keyType) === presentedKind);
  if (changed !== undefined) {
    return { status: 'mismatch', file: changed.file, line: changed.line, expectedType: changed.keyType };
  }
  return { status: 'unknown', knownTypes: [...new Set(plain.map((e) => e.keyType))] };
}

/**
 * Key types known_hosts holds for a host, in file order: pass them first in ssh2's
 * `algorithms.serverHostKey` so the server proves the key already on record, as ssh orders its
 * host key algorithms.
 */
export function knownHostKeyTypes(options: Omit<CheckHostKeyOptions, 'keyBlob' | 'keyType'>): string[] {
  const names =
    options.hostKeyAlias === undefined
      ? [options.host, ...(options.aliases ?? [])].map((name) => knownHostName(name, options.port))
      : [options.hostKeyAlias];
  const types = readEntries(options.files)
    .filter((e) => e.marker === 'none' && names.some((name) => entryMatchesName(e, name)))
    .map((e) => e.keyType);
  return [...new Set(types)];
}

function readEntries(files: readonly string[]): KnownHostEntry[] {
  return files.flatMap((file) => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      // Missing or unreadable: nothing is known from it; under a strict policy that refuses.
      return [];
    }
    return parseKnownHosts(text, file);
  });
}

/** Options of {@link appendKnownHost}. */
export interface AppendKnownHostOptions {
  /** Write the host name hashed, as with HashKnownHosts yes. @default false */
  readonly hash?: boolean;
}

/**
 * Records a host key (hostKeyPolicy `'accept-new'`), creating the directory (0700) and the
 * file (0600) when missing. The line goes out in one O_APPEND write, so concurrent appends by
 * other processes cannot interleave inside it.
 */
export function appendKnownHost(
  file: string,
  host: string,
  port: number,
  keyType: string,
  keyBlob: Buffer,
  options: AppendKnownHostOptions = {},
): void {
  const type = blobKeyType(keyBlob) ?? keyType;
  const name = knownHostName(host, port);
  const field = options.hash === true ? hashKnownHostName(name) : name;
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const fd = openSync(file, 'a+', 0o600);
  try {
    // A file whose last line lacks its newline would otherwise get our entry glued to it.
    const size = fstatSync(fd).size;
    let prefix = '';
    if (size > 0) {
      const last = Buffer.alloc(1);
      readSync(fd, last, 0, 1, size - 1);
      if (last[0] !== 0x0a) prefix = '\n';
    }
    writeSync(fd, `${prefix}${field} ${type} ${keyBlob.toString('base64')}\n`);
  } finally {
    closeSync(fd);
  }
}

/** A key's fingerprint as OpenSSH prints it: `SHA256:` and the unpadded base64 digest. */
export function fingerprintSha256(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}
