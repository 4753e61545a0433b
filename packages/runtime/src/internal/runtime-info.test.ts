import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { INFO_COMMAND, parseInfo } from './runtime-info.js';

describe('parseInfo', () => {
  it('reads every fact from one output', () => {
    const out = ['@os', 'Linux', 'Debian GNU/Linux 12 (bookworm)', '@cpu', '8', '@mem', 'MemTotal:       16318412 kB', '@python', '3.11.2', '@gpu',
      'GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-5f1c)', 'GPU 1: NVIDIA A100-SXM4-40GB (UUID: GPU-77aa)', '@end'].join('\n');
    expect(parseInfo('h1', out)).toEqual({
      host: 'h1', os: 'Linux (Debian GNU/Linux 12 (bookworm))', cpuCores: 8, memoryBytes: 16318412 * 1024, pythonVersion: '3.11.2',
      gpus: ['NVIDIA A100-SXM4-40GB', 'NVIDIA A100-SXM4-40GB'],
    });
  });

  it('reports a missing python3 and no GPUs as null and empty', () => {
    const info = parseInfo('h2', '@os\nLinux\n@cpu\n2\n@mem\nMemTotal: 100 kB\n@python\n@gpu\n@end\n');
    expect(info.pythonVersion).toBeNull();
    expect(info.gpus).toEqual([]);
    expect(info.os).toBe('Linux');
  });

  it('parses what the command prints on this machine', () => {
    const info = parseInfo('localhost', execFileSync('/bin/sh', ['-c', INFO_COMMAND]).toString());
    expect(info.cpuCores).toBeGreaterThan(0);
    expect(info.memoryBytes).toBeGreaterThan(1024 * 1024);
    expect(info.os).toMatch(/^Linux/);
  });
});
