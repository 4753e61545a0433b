import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { execOnHost, readLab } from '@lazycluster/lab';
import { RuntimeGroup } from './index.js';
import { existsOnHost, labRuntime, tempDir, uniqueMarker } from '../test/lab-helpers.js';

const lab = await readLab();

/** Every file under `root` with its content, by path relative to `root`. */
async function tree(root: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else result[relative(root, path)] = await readFile(path, 'utf8');
    }
  };
  await walk(root);
  return result;
}

const NESTED: Record<string, string> = {
  'top.txt': 'top\n',
  'a/one.txt': 'one\n',
  'a/two words.txt': 'two\n',
  'a/b/c/deep.json': '{"deep":true}\n',
  'a/b/empty.txt': '',
  'd/e/f.csv': 'x,y\n1,2\n',
};

async function writeTree(root: string, files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), content);
  }
}

describe('Runtime file transfer on the lab', () => {
  it('sends a file into the working dir under its own name and gets it back', async () => {
    await using local = await tempDir();
    await using rt = labRuntime(lab, 'h1');
    const source = join(local.path, 'data.txt');
    await writeFile(source, 'some data\n');
    const remote = await rt.sendFile(source);
    expect(remote).toBe(`${await rt.workingDir()}/data.txt`);
    expect((await rt.run(['cat', 'data.txt'])).stdout).toBe('some data\n');
    await rt.run('echo changed >> data.txt');
    const back = await rt.getFile('data.txt', join(local.path, 'back', 'data.txt'));
    expect(back).toBe(join(local.path, 'back', 'data.txt'));
    expect(await readFile(back, 'utf8')).toBe('some data\nchanged\n');
  });

  it('sends to a relative path with directories, creating them', async () => {
    await using local = await tempDir();
    await using rt = labRuntime(lab, 'h2');
    const source = join(local.path, 'x.txt');
    await writeFile(source, 'x');
    const remote = await rt.sendFile(source, 'new/sub dir/y.txt');
    expect(remote).toBe(`${await rt.workingDir()}/new/sub dir/y.txt`);
    expect((await rt.run(['cat', 'new/sub dir/y.txt'])).stdout).toBe('x');
  });

  it('round-trips a nested directory tree of several files', async () => {
    await using local = await tempDir();
    await using rt = labRuntime(lab, 'h2');
    const source = join(local.path, 'project');
    await writeTree(source, NESTED);
    await rt.sendFile(source, 'copy');
    const listing = await rt.run('cd copy && find . -type f | sort');
    expect(listing.stdout.trim().split('\n')).toEqual(Object.keys(NESTED).map((p) => `./${p}`).sort());
    expect((await rt.run(['cat', 'copy/a/b/c/deep.json'])).stdout).toBe(NESTED['a/b/c/deep.json']);
    await rt.run('echo added > copy/a/added.txt');
    const back = join(local.path, 'back');
    await rt.getFile('copy', back);
    expect(await tree(back)).toEqual({ ...NESTED, 'a/added.txt': 'added\n' });
  });

  it('keeps the permission bits of sent files', async () => {
    await using local = await tempDir();
    await using rt = labRuntime(lab, 'h3');
    const script = join(local.path, 'run.sh');
    await writeFile(script, '#!/bin/sh\necho ran\n');
    await chmod(script, 0o750);
    await rt.sendFile(script);
    expect((await rt.run('./run.sh')).stdout).toBe('ran\n');
    expect((await rt.run(['stat', '-c', '%a', 'run.sh'])).stdout.trim()).toBe('750');
  });

  it('transfers a 4 MiB binary file byte for byte', async () => {
    await using local = await tempDir();
    await using rt = labRuntime(lab, 'h1');
    const data = randomBytes(4 * 1024 * 1024 + 17);
    const source = join(local.path, 'blob.bin');
    await writeFile(source, data);
    await rt.sendFile(source);
    const back = join(local.path, 'blob.back');
    await rt.getFile('blob.bin', back);
    expect((await readFile(back)).equals(data)).toBe(true);
    expect((await stat(back)).size).toBe(data.length);
  });

  it('puts a file sent to h1 on h1 only', async () => {
    await using local = await tempDir();
    const source = join(local.path, 'only-h1.txt');
    await writeFile(source, 'h1');
    const absolute = `/tmp/${uniqueMarker('only-h1')}.txt`;
    try {
      await using rt = labRuntime(lab, 'h1');
      expect(await rt.sendFile(source, absolute)).toBe(absolute);
      expect(await existsOnHost(lab, 'h1', absolute)).toBe(true);
      expect(await existsOnHost(lab, 'h2', absolute)).toBe(false);
      expect(await existsOnHost(lab, 'h3', absolute)).toBe(false);
    } finally {
      await execOnHost(lab, 'h1', ['rm', '-f', absolute]);
    }
  });

  it('sends a directory to every runtime of a group', async () => {
    await using local = await tempDir();
    await using group = new RuntimeGroup({ hosts: ['h1', 'h2', 'h3'], sshConfigPath: lab.sshConfigPath, agent: false });
    const source = join(local.path, 'shared');
    await writeTree(source, NESTED);
    const remotes = await group.sendFile(source);
    expect(remotes).toHaveLength(3);
    const listings = await group.exec('cd shared && find . -type f | sort');
    for (const listing of listings) {
      expect(listing.stdout.trim().split('\n')).toEqual(Object.keys(NESTED).map((p) => `./${p}`).sort());
    }
    for (const [i, runtime] of group.runtimes.entries()) {
      expect(remotes[i]).toBe(`${await runtime.workingDir()}/shared`);
    }
  });

  it('rejects getFile of a missing remote path with an error naming the path and host', async () => {
    await using local = await tempDir();
    await using rt = labRuntime(lab, 'h1');
    const error = await rt.getFile('no-such-file.txt', join(local.path, 'x')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain('no-such-file.txt');
    expect((error as Error).message).toContain('h1');
  });
});
