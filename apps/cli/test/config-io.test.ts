import { chmod, lstat, mkdtemp, readFile, readdir, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readConfigFile, writeConfigFile } from '../src/lib/config-io.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lazycluster-cli-io-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('SSH config files', () => {
  it('read a missing file as empty, to be created with mode 0600', async () => {
    const file = await readConfigFile(join(dir, 'none'));
    expect(file).toMatchObject({ text: '', exists: false, mode: 0o600 });
  });

  it('are replaced with their mode kept and no temporary file left behind', async () => {
    const path = join(dir, 'config');
    await writeFile(path, 'old\n');
    await chmod(path, 0o640);
    const file = await readConfigFile(path);
    await writeConfigFile(file, 'new\n');
    expect(await readFile(path, 'utf8')).toBe('new\n');
    expect((await stat(path)).mode & 0o777).toBe(0o640);
    expect(await readdir(dir)).toEqual(['config']);
  });

  it('are created with mode 0600 in a new directory with mode 0700', async () => {
    const path = join(dir, 'home', '.ssh', 'config');
    await writeConfigFile(await readConfigFile(path), 'Host a\n');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'home', '.ssh'))).mode & 0o777).toBe(0o700);
  });

  it('keep a symbolic link and change its target', async () => {
    const target = join(dir, 'real-config');
    const link = join(dir, 'config');
    await writeFile(target, 'old\n');
    await symlink(target, link);
    await writeConfigFile(await readConfigFile(link), 'new\n');
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await readlink(link)).toBe(target);
    expect(await readFile(target, 'utf8')).toBe('new\n');
  });
});
