/** Facts about a runtime's host, from {@link Runtime.info}. */
export interface RuntimeInfo {
  readonly host: string;
  /** Kernel and distribution, e.g. `Linux (Debian GNU/Linux 12 (bookworm))`. */
  readonly os: string;
  readonly cpuCores: number;
  readonly memoryBytes: number;
  /** Version of `python3` on the runtime's PATH, or null when there is none. */
  readonly pythonVersion: string | null;
  /** GPU names as `nvidia-smi -L` lists them; empty without NVIDIA GPUs. */
  readonly gpus: string[];
}

/**
 * One POSIX sh command that prints everything `info()` needs, each fact after a marker
 * line, so one round trip answers all of them.
 */
export const INFO_COMMAND = [
  'echo @os; uname -s; (. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")',
  'echo @cpu; (nproc 2>/dev/null || getconf _NPROCESSORS_ONLN)',
  'echo @mem; grep -i "^MemTotal:" /proc/meminfo 2>/dev/null',
  'echo @python; python3 -c "import platform; print(platform.python_version())" 2>/dev/null',
  'echo @gpu; (command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null)',
  'echo @end',
].join('; ');

/** Parse the output of {@link INFO_COMMAND}. */
export function parseInfo(host: string, stdout: string): RuntimeInfo {
  const sections = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of stdout.split('\n')) {
    const marker = /^@(os|cpu|mem|python|gpu|end)$/.exec(line.trim());
    if (marker?.[1] !== undefined) {
      current = [];
      sections.set(marker[1], current);
    } else if (line.trim() !== '') current?.push(line.trim());
  }
  const [kernel = 'unknown', distro] = sections.get('os') ?? [];
  const memKb = /(\d+)/.exec(sections.get('mem')?.[0] ?? '')?.[1];
  const python = sections.get('python')?.[0];
  return {
    host,
    os: distro === undefined ? kernel : `${kernel} (${distro})`,
    cpuCores: Number.parseInt(sections.get('cpu')?.[0] ?? '0', 10) || 0,
    memoryBytes: memKb === undefined ? 0 : Number(memKb) * 1024,
    pythonVersion: python !== undefined && /^\d+\.\d+/.test(python) ? python : null,
    gpus: (sections.get('gpu') ?? [])
      .filter((line) => line.startsWith('GPU '))
      .map((line) => line.replace(/^GPU \d+:\s*/, '').replace(/\s*\(UUID:.*\)$/, '')),
  };
}
