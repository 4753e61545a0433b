// Turns vitest's JSON report of the fault tests into the table `pnpm reliability` prints.
import type { FaultObservation } from './lab-faults.js';

/** One row of the table: a fault test, or any other reliability test. */
export interface FaultRow {
  readonly file: string;
  readonly test: string;
  readonly status: 'passed' | 'failed' | 'skipped';
  readonly durationMs: number;
  /** What the test recorded with `recordFault`, when it got that far. */
  readonly fault: FaultObservation | undefined;
  /** The first line of the first failure message. */
  readonly failure: string | undefined;
}

interface JsonAssertion {
  readonly title?: unknown;
  readonly fullName?: unknown;
  readonly status?: unknown;
  readonly duration?: unknown;
  readonly failureMessages?: unknown;
  readonly meta?: { readonly fault?: unknown };
}

interface JsonFile {
  readonly name?: unknown;
  readonly assertionResults?: readonly JsonAssertion[];
  readonly message?: unknown;
  readonly status?: unknown;
}

function isObservation(value: unknown): value is FaultObservation {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.fault === 'string' && typeof v.expected === 'string' && typeof v.observed === 'string' && typeof v.leftovers === 'number';
}

/** Reads vitest's `--reporter=json` output. */
export function parseVitestJson(text: string, root: string): FaultRow[] {
  const report = JSON.parse(text) as { testResults?: readonly JsonFile[] };
  const rows: FaultRow[] = [];
  for (const file of report.testResults ?? []) {
    const name = typeof file.name === 'string' ? file.name.replace(`${root}/`, '') : '?';
    const assertions = file.assertionResults ?? [];
    if (assertions.length === 0 && file.status === 'failed') {
      // The file failed before any test ran (an import or a beforeAll).
      rows.push({ file: name, test: '(file)', status: 'failed', durationMs: 0, fault: undefined, failure: firstLine(file.message) });
    }
    for (const a of assertions) {
      const status = a.status === 'passed' ? 'passed' : a.status === 'failed' ? 'failed' : 'skipped';
      const failures = Array.isArray(a.failureMessages) ? (a.failureMessages as unknown[]) : [];
      rows.push({
        file: name,
        test: typeof a.title === 'string' ? a.title : '?',
        status,
        durationMs: typeof a.duration === 'number' ? a.duration : 0,
        fault: isObservation(a.meta?.fault) ? a.meta.fault : undefined,
        failure: failures.length > 0 ? firstLine(failures[0]) : undefined,
      });
    }
  }
  return rows;
}

function firstLine(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  return value.trim().split('\n')[0]?.slice(0, 160);
}

/** A plain-text table with a header row; columns as wide as their widest cell. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
}

/** The fault table: one row per test that recorded an observation, failed ones first. */
export function faultTable(rows: readonly FaultRow[]): string {
  const faults = rows.filter((r) => r.fault !== undefined || r.status === 'failed');
  const cells = [...faults]
    .sort((a, b) => Number(a.status === 'passed') - Number(b.status === 'passed'))
    .map((r) => [
      r.fault?.fault ?? r.test.slice(0, 60),
      r.fault?.expected ?? '(see test)',
      r.status === 'passed' ? (r.fault?.observed ?? 'as expected') : `FAILED: ${r.failure ?? 'see the vitest output above'}`,
      r.fault?.detectMs === undefined ? '-' : `${(r.fault.detectMs / 1000).toFixed(2)} s`,
      r.fault === undefined ? '?' : String(r.fault.leftovers),
    ]);
  return formatTable(['fault', 'expected', 'observed', 'time to detect', 'leftovers'], cells);
}
