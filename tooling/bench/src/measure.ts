import { performance } from 'node:perf_hooks';

/** One measurement: does the work once and returns the value measured (ms, MB/s, ...). */
export type Probe = () => Promise<number>;

/** Milliseconds `work` takes. */
export async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

/**
 * Runs every probe `runs` times, interleaved: each round runs all of them, and the round's
 * first probe rotates, so drifting load on the (shared) machine hits every side alike. One
 * untimed warm-up round comes first unless `warmup` is false.
 */
export async function interleave<K extends string>(
  runs: number,
  probes: Readonly<Record<K, Probe>>,
  options: { readonly warmup?: boolean } = {},
): Promise<Record<K, number[]>> {
  const keys = Object.keys(probes) as K[];
  const samples = Object.fromEntries(keys.map((key) => [key, [] as number[]])) as Record<K, number[]>;
  if (options.warmup ?? true) for (const key of keys) await probes[key]();
  for (let round = 0; round < runs; round++) {
    for (let i = 0; i < keys.length; i++) {
      const key = keys[(round + i) % keys.length] as K;
      samples[key].push(await probes[key]());
    }
  }
  return samples;
}
