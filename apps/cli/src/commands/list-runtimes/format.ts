import type { InactiveHost, RuntimeInfo } from '@lazycluster/runtime';
import type { Paint } from '../../lib/output.js';
import { formatBytes, formatTable } from '../../lib/table.js';

/** The `--json` document of `list-runtimes`. */
export interface RuntimeListJson {
  readonly active: readonly {
    readonly host: string;
    readonly os: string;
    readonly cpuCores: number;
    readonly memoryBytes: number;
    readonly pythonVersion: string | null;
    readonly gpus: readonly string[];
  }[];
  readonly inactive: readonly { readonly host: string; readonly reason: string }[];
}

/** The `--json` document, with exactly the documented fields. */
export function runtimeListJson(infos: readonly RuntimeInfo[], inactive: readonly InactiveHost[]): RuntimeListJson {
  return {
    active: infos.map((info) => ({
      host: info.host,
      os: info.os,
      cpuCores: info.cpuCores,
      memoryBytes: info.memoryBytes,
      pythonVersion: info.pythonVersion,
      gpus: [...info.gpus],
    })),
    inactive: inactive.map(({ host, reason }) => ({ host, reason })),
  };
}

/**
 * The text listing: active hosts first (with `long`, in a table of their facts), then the
 * inactive ones with the reason, each on one line.
 */
export function formatRuntimeList(infos: readonly RuntimeInfo[], inactive: readonly InactiveHost[], options: { long: boolean; paint: Paint }): string[] {
  const { paint } = options;
  const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, ' ');
  if (options.long) {
    const rows = [
      ['HOST', 'OS', 'CORES', 'MEMORY', 'PYTHON', 'GPUS'].map((h) => paint('bold', h)),
      ...infos.map((info) => [
        info.host,
        info.os,
        String(info.cpuCores),
        formatBytes(info.memoryBytes),
        info.pythonVersion ?? '-',
        info.gpus.length === 0 ? '-' : info.gpus.join(', '),
      ]),
    ];
    const lines = infos.length > 0 ? formatTable(rows) : [];
    if (inactive.length > 0) {
      if (lines.length > 0) lines.push('');
      lines.push(paint('bold', 'INACTIVE'));
      lines.push(...formatTable(inactive.map(({ host, reason }) => [host, paint('red', oneLine(reason))])));
    }
    return lines;
  }
  return formatTable([
    ...infos.map((info) => [info.host, paint('green', 'active')]),
    ...inactive.map(({ host, reason }) => [host, paint('red', 'inactive'), oneLine(reason)]),
  ]);
}
