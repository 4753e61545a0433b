import { cp, mkdir, readdir, stat } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import type { SFTPWrapper, Stats } from 'ssh2';

// Transfers run this many files at once over the one SFTP session: enough to hide the
// round trip, few enough not to flood the channel window.
const PARALLEL_FILES = 8;

async function sftpCall<T>(fn: (cb: (error: Error | null | undefined, value: T) => void) => void): Promise<T> {
  return await new Promise<T>((resolve, reject) => {
    fn((error, value) => (error ? reject(error) : resolve(value)));
  });
}

async function remoteStat(sftp: SFTPWrapper, path: string): Promise<Stats | undefined> {
  return await sftpCall<Stats>((cb) => sftp.stat(path, cb)).catch(() => undefined);
}

async function remoteMkdirs(sftp: SFTPWrapper, path: string): Promise<void> {
  const parts = path.split('/');
  let current = path.startsWith('/') ? '' : '.';
  for (const part of parts) {
    if (part === '') continue;
    current = current === '' ? `/${part}` : `${current}/${part}`;
    const existing = await remoteStat(sftp, current);
    if (existing?.isDirectory()) continue;
    await sftpCall<undefined>((cb) => sftp.mkdir(current, { mode: 0o700 }, (error) => cb(error, undefined)));
  }
}

async function inParallel<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(PARALLEL_FILES, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  });
  await Promise.all(workers);
}

/** Upload a file or a directory tree; returns the number of files sent. */
export async function uploadPath(sftp: SFTPWrapper, localPath: string, remotePath: string): Promise<number> {
  refuseNul(remotePath);
  const info = await stat(localPath);
  if (!info.isDirectory()) {
    await remoteMkdirs(sftp, posix.dirname(remotePath));
    await sftpCall<undefined>((cb) => sftp.fastPut(localPath, remotePath, { mode: info.mode & 0o777 }, (error) => cb(error, undefined)));
    return 1;
  }
  const files: [string, string][] = [];
  const dirs: string[] = [remotePath];
  const walk = async (local: string, remote: string): Promise<void> => {
    for (const entry of await readdir(local, { withFileTypes: true })) {
      const l = join(local, entry.name);
      const r = posix.join(remote, entry.name);
      if (entry.isDirectory()) {
        dirs.push(r);
        await walk(l, r);
      } else if (entry.isFile()) files.push([l, r]);
    }
  };
  await walk(localPath, remotePath);
  for (const dir of dirs) await remoteMkdirs(sftp, dir);
  await inParallel(files, async ([l, r]) => {
    const mode = (await stat(l)).mode & 0o777;
    await sftpCall<undefined>((cb) => sftp.fastPut(l, r, { mode }, (error) => cb(error, undefined)));
  });
  return files.length;
}

/** Download a file or a directory tree; returns the number of files received. */
export async function downloadPath(sftp: SFTPWrapper, remotePath: string, localPath: string): Promise<number> {
  refuseNul(remotePath);
  const info = await sftpCall<Stats>((cb) => sftp.stat(remotePath, cb));
  if (!info.isDirectory()) {
    await mkdir(dirname(localPath), { recursive: true });
    await sftpCall<undefined>((cb) => sftp.fastGet(remotePath, localPath, (error) => cb(error, undefined)));
    return 1;
  }
  const files: [string, string][] = [];
  const walk = async (remote: string, local: string): Promise<void> => {
    await mkdir(local, { recursive: true });
    const entries = await sftpCall<{ filename: string; attrs: Stats }[]>((cb) => sftp.readdir(remote, cb));
    for (const entry of entries) {
      const r = posix.join(remote, entry.filename);
      const l = join(local, entry.filename);
      if (entry.attrs.isDirectory()) await walk(r, l);
      else if (entry.attrs.isFile()) files.push([r, l]);
    }
  };
  await walk(remotePath, localPath);
  await inParallel(files, async ([r, l]) => {
    await sftpCall<undefined>((cb) => sftp.fastGet(r, l, (error) => cb(error, undefined)));
  });
  return files.length;
}

/**
 * Refuse a path with a NUL byte before it reaches SFTP: no file system allows one, and SFTP
 * answers it with a bare "No response from server" instead of a clear error.
 */
export function assertTransferPath(path: string, what: string): void {
  if (path.includes('\0')) throw new TypeError(`A ${what} cannot contain a NUL byte: ${JSON.stringify(path)}.`);
}

/** What a failed transfer was doing, for {@link transferFailure}. */
export interface TransferAttempt {
  readonly host: string;
  readonly direction: 'send' | 'get';
  /** The manager's side. */
  readonly localPath: string;
  /** The host's side (absolute). */
  readonly remotePath: string;
}

/**
 * The error for a failed transfer: SFTP's own errors say only "No such file", without the
 * path or the host, so the message adds both and what to check.
 */
export function transferFailure(attempt: TransferAttempt, cause: unknown): Error {
  const { host, direction, localPath, remotePath } = attempt;
  const why = cause instanceof Error ? cause.message : String(cause);
  const what = direction === 'send' ? `send ${localPath} to ${host}:${remotePath}` : `get ${host}:${remotePath} to ${localPath}`;
  const check =
    direction === 'send'
      ? `that ${localPath} exists on the manager and that the user may write to ${remotePath} on ${host}`
      : `that ${remotePath} exists on ${host} (relative paths start at the working directory) and that ${localPath} is writable`;
  return new Error(`Cannot ${what}: ${why}. Check ${check}.`, { cause });
}

/** The manager's own copy, for the `localhost` runtime. */
export async function copyLocal(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  await cp(from, to, { recursive: true, force: true });
}

/** SFTP cannot carry a NUL byte in a path (and OpenSSH's server ends the session on one). */
function refuseNul(remotePath: string): void {
  if (remotePath.includes('\0')) throw new TypeError(`A remote path cannot contain a NUL byte: ${JSON.stringify(remotePath)}.`);
}
