import { readdir, stat } from 'node:fs/promises';
import { join, parse, sep } from 'node:path';
import { hasWildcard, matchPattern } from './patterns.js';

/**
 * Expands an absolute path whose components may hold `*` and `?`, as glob(3) does for
 * OpenSSH's Include: results sorted, names starting with `.` matched only by a pattern that
 * starts with `.`, no match giving an empty list (a missing Include is not an error).
 * Node 20 has no stable `fs.glob`, and Include needs only these two wildcards.
 */
export async function expandGlob(absolutePattern: string): Promise<string[]> {
  const { root } = parse(absolutePattern);
  const parts = absolutePattern.slice(root.length).split(sep).filter((p) => p.length > 0);
  let current = [root];
  for (const [index, part] of parts.entries()) {
    const last = index === parts.length - 1;
    const next: string[] = [];
    for (const base of current) {
      if (!hasWildcard(part)) {
        next.push(join(base, part));
        continue;
      }
      let names: string[];
      try {
        names = await readdir(base);
      } catch {
        continue;
      }
      for (const name of names) {
        if (name.startsWith('.') && !part.startsWith('.')) continue;
        if (matchPattern(name, part)) next.push(join(base, name));
      }
    }
    // Intermediate components must be directories; checking here prunes dead branches early.
    current = last ? next : await filterAsync(next, isDirectory);
  }
  const existing = await filterAsync(current, exists);
  return existing.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

async function filterAsync(items: string[], predicate: (item: string) => Promise<boolean>): Promise<string[]> {
  const keep = await Promise.all(items.map(predicate));
  return items.filter((_, i) => keep[i]);
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
