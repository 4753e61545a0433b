import type { Paint } from '../../lib/output.js';
import { formatTable } from '../../lib/table.js';

/** One worker as `dask up` reports it. */
export interface WorkerRow {
  readonly index: number;
  readonly host: string;
  readonly port: number;
  readonly pid: number;
}

/** The `--json` document of `dask up`. */
export interface DaskUpJson {
  readonly schedulerAddress: string;
  /** Null when the scheduler serves no dashboard (Dask needs `bokeh` for it). */
  readonly dashboardLink: string | null;
  readonly workers: readonly WorkerRow[];
}

/** The `--json` document, workers in index order. */
export function daskUpJson(schedulerAddress: string, dashboardLink: string | undefined, workers: readonly WorkerRow[]): DaskUpJson {
  return {
    schedulerAddress,
    dashboardLink: dashboardLink ?? null,
    workers: [...workers].sort((a, b) => a.index - b.index).map(({ index, host, port, pid }) => ({ index, host, port, pid })),
  };
}

/** The text `dask up` prints once the cluster is ready. */
export function formatDaskUp(info: DaskUpJson, paint: Paint): string[] {
  const dashboard = info.dashboardLink ?? paint('dim', 'none (the scheduler serves one when bokeh is installed)');
  return [
    ...formatTable([
      [paint('bold', 'Scheduler'), info.schedulerAddress],
      [paint('bold', 'Dashboard'), dashboard],
    ]),
    '',
    ...formatTable([
      ['WORKER', 'HOST', 'PORT', 'PID'].map((h) => paint('bold', h)),
      ...info.workers.map((w) => [String(w.index), w.host, String(w.port), String(w.pid)]),
    ]),
  ];
}
