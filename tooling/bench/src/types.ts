import type { LabDescription } from '@lazycluster/lab';
import { summarize } from './stats.js';

/** What a whole run is allowed to spend. */
export interface Budget {
  /** Calls per side for latency benches (≥ 20). */
  readonly calls: number;
  /** Runs per side for the slow benches (connection setup, throughput, cluster start). */
  readonly runs: number;
  /** Bytes pushed through each tunnel per run. */
  readonly payloadBytes: number;
  /** Group sizes for fan-out and port negotiation. */
  readonly hostCounts: readonly number[];
  /** Host counts for the cluster-start bench (3, and 12 in full mode). */
  readonly clusterHosts: readonly number[];
}

export interface BenchContext {
  readonly lab: LabDescription;
  readonly quick: boolean;
  readonly budget: Budget;
  /** A private directory for sockets, scripts' output and scratch files. */
  readonly tmpDir: string;
  /** Progress lines (stderr), so stdout stays the result tables. */
  readonly log: (line: string) => void;
}

export type Unit = 'ms' | 's' | 'MB/s' | 'KiB' | 'fds' | 'processes';

/** Every sample of one side of a comparison. */
export interface Series {
  readonly id: string;
  readonly label: string;
  readonly unit: Unit;
  readonly samples: readonly number[];
}

export interface Target {
  /** `<=` when lower is better (times, costs), `>=` for throughput. */
  readonly op: '<=' | '>=';
  readonly value: number;
}

/** One ratio of `ours` to `reference`. */
export interface Comparison {
  readonly label: string;
  readonly ours: string;
  readonly reference: string;
  /**
   * The median over rounds of ours ÷ reference in the same round (the sides of a round ran
   * back to back, under the same load); the ratio of the medians when the series are not paired.
   */
  readonly ratio: number;
  /** Median of ours ÷ median of reference. */
  readonly ratioOfMedians: number;
  readonly target?: Target;
  readonly pass?: boolean;
}

export type Chart =
  | { readonly kind: 'bars'; readonly file: string; readonly title: string; readonly series: readonly string[] }
  | {
      readonly kind: 'lines';
      readonly file: string;
      readonly title: string;
      readonly xLabel: string;
      readonly lines: readonly { readonly label: string; readonly points: readonly { readonly x: number; readonly series: string }[] }[];
    };

export interface BenchResult {
  readonly name: string;
  readonly title: string;
  /** One line: what is compared with what. */
  readonly compares: string;
  readonly series: readonly Series[];
  readonly comparisons: readonly Comparison[];
  readonly charts: readonly Chart[];
  /** Findings worth reading beside the numbers (cipher used, processes left behind, ...). */
  readonly notes: readonly string[];
  /** Set when the bench could not run at all, with the reason. */
  readonly skipped?: string;
}

export interface Bench {
  /** The name `--only` takes. */
  readonly name: string;
  readonly title: string;
  run(context: BenchContext): Promise<BenchResult>;
}

/**
 * Builds a comparison of two series, judging the target when there is one. Series of the same
 * length are taken as paired round by round (as `interleave` makes them).
 */
export function compare(label: string, ours: Series, reference: Series, target?: Target): Comparison {
  const ratioOfMedians = summarize(ours.samples).median / summarize(reference.samples).median;
  const paired = ours.samples.length > 0 && ours.samples.length === reference.samples.length;
  const ratio = paired ? summarize(ours.samples.map((value, i) => value / (reference.samples[i] ?? Number.NaN))).median : ratioOfMedians;
  const base = { label, ours: ours.id, reference: reference.id, ratio, ratioOfMedians };
  if (target === undefined) return base;
  return { ...base, target, pass: target.op === '<=' ? ratio <= target.value : ratio >= target.value };
}

export function series(id: string, label: string, unit: Unit, samples: readonly number[]): Series {
  return { id, label, unit, samples };
}
