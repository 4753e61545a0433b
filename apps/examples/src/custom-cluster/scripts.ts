import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The path of a Python script shipped beside this module. Run from the sources (tsx,
 * vitest) it is right here; run from `dist/` it is looked up in `src/`, since the
 * TypeScript build does not copy `.py` files.
 */
export function scriptPath(name: 'queue_master.py' | 'queue_worker.py'): string {
  const candidates = [new URL(`./${name}`, import.meta.url), new URL(`../../src/custom-cluster/${name}`, import.meta.url)].map((url) => fileURLToPath(url));
  const found = candidates.find((path) => existsSync(path));
  if (found === undefined) throw new Error(`The example script ${name} is missing (looked in ${candidates.join(' and ')}).`);
  return found;
}
