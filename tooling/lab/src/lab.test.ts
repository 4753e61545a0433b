import { afterEach, describe, expect, it, vi } from 'vitest';
import { run } from './internal/run.js';
import { LAB_SCRIPT, labJsonPath, parseListeningPorts } from './lab.js';

/** lab.sh with only the given LAB_* variables; these calls fail in validation or read state. */
function script(args: string[], env: Record<string, string> = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('LAB_')));
  return run('bash', [LAB_SCRIPT, ...args], { env: { ...clean, ...env } });
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('parseListeningPorts', () => {
  it('reads the local port of IPv4, IPv6 and wildcard listeners, sorted and distinct', () => {
    const output = [
      'LISTEN 0      128      10.213.0.11:22        0.0.0.0:*',
      'LISTEN 0      511          0.0.0.0:8786      0.0.0.0:*',
      'LISTEN 0      511             [::]:8786         [::]:*',
      'LISTEN 0      4096               *:40123           *:*',
      'LISTEN 0      5      [::ffff:127.0.0.1]:9000    *:*',
      '',
    ].join('\n');
    expect(parseListeningPorts(output)).toEqual([22, 8786, 9000, 40123]);
  });

  it('returns no ports for empty output', () => {
    expect(parseListeningPorts('')).toEqual([]);
  });
});

describe('labJsonPath', () => {
  it('uses LAZYCLUSTER_LAB_JSON when no lab is named', () => {
    vi.stubEnv('LAZYCLUSTER_LAB_JSON', '/var/lib/somewhere/lab.json');
    expect(labJsonPath()).toBe('/var/lib/somewhere/lab.json');
  });

  it('ignores LAZYCLUSTER_LAB_JSON when a lab is named by options', () => {
    vi.stubEnv('LAZYCLUSTER_LAB_JSON', '/var/lib/somewhere/lab.json');
    expect(labJsonPath({ stateDir: '/var/lib/other' })).toBe('/var/lib/other/lab.json');
  });

  it.each([
    [{}, {}],
    [{ prefix: 'zzunit' }, {}],
    [{}, { LAB_PREFIX: 'zzunit2' }],
    [{}, { LAB_STATE: '/var/lib/zz-unit-state' }],
    [{ prefix: 'lzc' }, {}],
  ])('names the same lab.json as lab.sh for options %o and env %o', async (options, env: Record<string, string>) => {
    vi.stubEnv('LAZYCLUSTER_LAB_JSON', '');
    for (const key of ['LAB_PREFIX', 'LAB_SUBNET', 'LAB_STATE']) vi.stubEnv(key, env[key]);
    const expected = labJsonPath(options);
    const scriptEnv = { ...env, ...('prefix' in options ? { LAB_PREFIX: options.prefix } : {}) };
    const { stdout, exitCode } = await script(['status'], scriptEnv);
    // "down" names the file it looked for; a lab that is up prints its own stateDir.
    const named = exitCode === 0 ? `${(JSON.parse(stdout) as { stateDir: string }).stateDir}/lab.json` : /\(no (\S+)\)/.exec(stdout)?.[1];
    expect(named).toBe(expected);
  });
});

describe('lab.sh argument checks', () => {
  it.each([
    [['up', '0'], {}, /usage: lab\.sh up N/],
    [['up', 'three'], {}, /usage: lab\.sh up N/],
    [['up', '1'], { LAB_PREFIX: 'Bad_Prefix' }, /LAB_PREFIX 'Bad_Prefix' must be 1-8 lowercase/],
    [['up', '1'], { LAB_PREFIX: 'muchtoolong' }, /must be 1-8 lowercase/],
    [['up', '1'], { LAB_SUBNET: '10.213' }, /LAB_SUBNET '10\.213' must be the first three octets/],
    [['up', '1'], { LAB_SUBNET: '10.300.0' }, /octet above 255/],
    [['up', '1'], { LAB_STATE: '/tmp/lab' }, /must be outside \/tmp/],
    [['up', '1'], { LAB_STATE: 'relative/dir' }, /must be an absolute path/],
    [['up', '1'], { LAB_STATE: '/var/lib/has space' }, /must be an absolute path/],
    [['frobnicate'], {}, /usage: lab\.sh up N \| down/],
  ])('lab.sh %o with %o fails with a clear message', async (args, env: Record<string, string>, message) => {
    const { stderr, exitCode } = await script(args, { LAB_PREFIX: 'zzunit', ...env });
    expect(exitCode).toBe(1);
    expect(stderr).toMatch(message);
  });

  it('refuses pids and exec for a host name that is not h<i>', async () => {
    const { stderr, exitCode } = await script(['exec', 'node1', 'true'], { LAB_PREFIX: 'zzunit' });
    expect(exitCode).toBe(1);
    expect(stderr).toMatch(/unknown host 'node1': lab hosts are named h1, h2/);
  });

  it('says the lab is down for pids when there is no lab', async () => {
    const { stderr, exitCode } = await script(['pids', 'h1'], { LAB_PREFIX: 'zzunit' });
    expect(exitCode).toBe(1);
    expect(stderr).toMatch(/the lab is down \(no \/var\/lib\/lazycluster-lab-zzunit\/lab\.json\)/);
  });
});
