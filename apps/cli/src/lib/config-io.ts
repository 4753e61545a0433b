import { randomBytes } from 'node:crypto';
import { chown, mkdir, open, readFile, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** An SSH config as read from disk. */
export interface ConfigFile {
  /** The path to write to: the target of a symbolic link, so the link stays. */
  readonly path: string;
  readonly text: string;
  readonly exists: boolean;
  /** Permission bits to keep (0600 for a new file). */
  readonly mode: number;
  readonly uid: number | undefined;
  readonly gid: number | undefined;
}

/** Reads an SSH config; a missing file reads as empty. */
export async function readConfigFile(path: string): Promise<ConfigFile> {
  const target = await realpath(path).catch(() => path);
  try {
    const [text, info] = await Promise.all([readFile(target, 'utf8'), stat(target)]);
    return { path: target, text, exists: true, mode: info.mode & 0o7777, uid: info.uid, gid: info.gid };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    return { path: target, text: '', exists: false, mode: 0o600, uid: undefined, gid: undefined };
  }
}

/**
 * Replaces the file's content atomically: a temporary file in the same directory (so the
 * rename stays on one file system) is written, synced, given the old mode and owner, then
 * renamed over the file. A reader sees the old or the new file, never half of one. A missing
 * directory is created with mode 0700, as ~/.ssh must be.
 */
export async function writeConfigFile(file: ConfigFile, text: string): Promise<void> {
  const dir = dirname(file.path);
  if (!file.exists) await mkdir(dir, { recursive: true, mode: 0o700 });
  const temp = join(dir, `.${basename(file.path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', file.mode);
  try {
    try {
      await handle.writeFile(text, 'utf8');
      // The umask may have narrowed the mode given to open().
      await handle.chmod(file.mode);
      if (file.uid !== undefined && file.gid !== undefined && process.getuid?.() === 0) {
        await chown(temp, file.uid, file.gid);
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file.path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}
