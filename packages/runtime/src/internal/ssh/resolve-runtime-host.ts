import { SshConfigError } from '../../errors.js';
import { parseHostSpec, type HostSpec } from './host-spec.js';
import { loadSshConfig, resolveHost, type LoadSshConfigOptions, type ResolvedHost, type SshConfig, type SshOverrides } from './ssh-config.js';

/** Connection settings a runtime may set over the SSH config. */
export interface RuntimeHostOptions extends Pick<SshOverrides, 'user' | 'port' | 'identityFile' | 'proxyJump'> {
  /** The SSH config to read; a missing file counts as empty. */
  readonly sshConfigPath: string;
  /** For tests: the home directory, user and environment used for `~`, tokens and defaults. */
  readonly environment?: Omit<LoadSshConfigOptions, 'allowMissing'>;
}

/** Where to connect, and through which jump host. */
export interface RuntimeHostTarget {
  readonly target: ResolvedHost;
  /** The ProxyJump host, resolved through the same SSH config. */
  readonly jump?: ResolvedHost;
}

/**
 * Turns a runtime's host (`alias`, `user@host:port`...) into connection settings: the SSH config
 * is applied, then `user@`/`:port` from the host, then the explicit options, which win.
 *
 * @throws {@link SshConfigError} for a malformed host, config value, or a setup ssh2 cannot
 * follow (ProxyCommand, a ProxyJump chain of more than one hop).
 */
export async function resolveRuntimeHost(host: string, options: RuntimeHostOptions): Promise<RuntimeHostTarget> {
  const spec = parseHostSpec(host);
  const config = await loadSshConfig(options.sshConfigPath, options.environment ?? {});
  return resolveRuntimeHostIn(config, spec, options);
}

/** {@link resolveRuntimeHost} on an already loaded config. */
export function resolveRuntimeHostIn(config: SshConfig, spec: HostSpec, options: Omit<RuntimeHostOptions, 'sshConfigPath'> = {}): RuntimeHostTarget {
  const overrides: { -readonly [K in keyof SshOverrides]: SshOverrides[K] } = {};
  const user = options.user ?? spec.user;
  const port = options.port ?? spec.port;
  if (user !== undefined) overrides.user = user;
  if (port !== undefined) overrides.port = port;
  if (options.identityFile !== undefined) overrides.identityFile = options.identityFile;
  if (options.proxyJump !== undefined) overrides.proxyJump = options.proxyJump;

  const target = resolveHost(config, spec.host, overrides);
  if (target.proxyCommand !== undefined) {
    throw new SshConfigError({
      file: config.path,
      problem:
        `${spec.host} uses ProxyCommand "${target.proxyCommand}", which lazycluster cannot run;` +
        ' use ProxyJump for a jump host, or set ProxyCommand none for this host',
    });
  }
  if (target.proxyJump === undefined) return { target };

  const hops = target.proxyJump.split(',');
  const first = hops[0] ?? '';
  if (hops.length > 1) {
    throw new SshConfigError({
      file: config.path,
      problem: `${spec.host} has ProxyJump "${target.proxyJump}" with ${hops.length} hops; only one jump host is supported`,
    });
  }
  const hop = parseHostSpec(first);
  const jumpOverrides: { -readonly [K in keyof SshOverrides]: SshOverrides[K] } = {};
  if (hop.user !== undefined) jumpOverrides.user = hop.user;
  if (hop.port !== undefined) jumpOverrides.port = hop.port;
  const jump = resolveHost(config, hop.host, jumpOverrides);
  if (jump.proxyJump !== undefined || jump.proxyCommand !== undefined) {
    throw new SshConfigError({
      file: config.path,
      problem: `the jump host ${hop.host} of ${spec.host} needs a jump host itself; only one jump host is supported (set ProxyJump none for ${hop.host})`,
    });
  }
  return { target, jump };
}
