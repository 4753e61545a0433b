/** Median and spread of one series of samples. */
export interface Summary {
  readonly n: number;
  readonly median: number;
  readonly p25: number;
  readonly p75: number;
  readonly min: number;
  readonly max: number;
}

/** Linear interpolation between closest ranks (as numpy's default), on sorted input. */
function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  const a = sorted[low] ?? Number.NaN;
  const b = sorted[high] ?? Number.NaN;
  return a + (b - a) * (position - low);
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    n: sorted.length,
    median: quantile(sorted, 0.5),
    p25: quantile(sorted, 0.25),
    p75: quantile(sorted, 0.75),
    min: sorted[0] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

/** The spread to show: p25–p75 from 5 samples on, else min–max (quartiles of 3 points mean little). */
export function spread(summary: Summary): { readonly low: number; readonly high: number; readonly kind: 'p25–p75' | 'min–max' } {
  return summary.n >= 5 ? { low: summary.p25, high: summary.p75, kind: 'p25–p75' } : { low: summary.min, high: summary.max, kind: 'min–max' };
}
