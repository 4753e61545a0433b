/**
 * The client keywords of ssh_config(5) (OpenSSH 9.x), in their documented spelling.
 * OpenSSH matches keywords case-insensitively; `add-runtime` writes this spelling.
 */
export const SSH_KEYWORDS: readonly string[] = [
  'AddKeysToAgent', 'AddressFamily', 'BatchMode', 'BindAddress', 'BindInterface', 'CanonicalDomains',
  'CanonicalizeFallbackLocal', 'CanonicalizeHostname', 'CanonicalizeMaxDots', 'CanonicalizePermittedCNAMEs',
  'CASignatureAlgorithms', 'CertificateFile', 'ChannelTimeout', 'CheckHostIP', 'Ciphers', 'ClearAllForwardings',
  'Compression', 'ConnectionAttempts', 'ConnectTimeout', 'ControlMaster', 'ControlPath', 'ControlPersist',
  'DynamicForward', 'EnableEscapeCommandline', 'EnableSSHKeysign', 'EscapeChar', 'ExitOnForwardFailure',
  'FingerprintHash', 'ForkAfterAuthentication', 'ForwardAgent', 'ForwardX11', 'ForwardX11Timeout',
  'ForwardX11Trusted', 'GatewayPorts', 'GlobalKnownHostsFile', 'GSSAPIAuthentication', 'GSSAPIDelegateCredentials',
  'HashKnownHosts', 'Host', 'HostbasedAcceptedAlgorithms', 'HostbasedAuthentication', 'HostKeyAlgorithms',
  'HostKeyAlias', 'HostName', 'IdentitiesOnly', 'IdentityAgent', 'IdentityFile', 'IgnoreUnknown', 'Include',
  'IPQoS', 'KbdInteractiveAuthentication', 'KbdInteractiveDevices', 'KexAlgorithms', 'KnownHostsCommand',
  'LocalCommand', 'LocalForward', 'LogLevel', 'LogVerbose', 'MACs', 'Match', 'NoHostAuthenticationForLocalhost',
  'NumberOfPasswordPrompts', 'ObscureKeystrokeTiming', 'PasswordAuthentication', 'PermitLocalCommand',
  'PermitRemoteOpen', 'PKCS11Provider', 'Port', 'PreferredAuthentications', 'ProxyCommand', 'ProxyJump',
  'ProxyUseFdpass', 'PubkeyAcceptedAlgorithms', 'PubkeyAcceptedKeyTypes', 'PubkeyAuthentication', 'RekeyLimit',
  'RemoteCommand', 'RemoteForward', 'RequestTTY', 'RequiredRSASize', 'RevokedHostKeys', 'SecurityKeyProvider',
  'SendEnv', 'ServerAliveCountMax', 'ServerAliveInterval', 'SessionType', 'SetEnv', 'StdinNull',
  'StreamLocalBindMask', 'StreamLocalBindUnlink', 'StrictHostKeyChecking', 'SyslogFacility', 'Tag',
  'TCPKeepAlive', 'Tunnel', 'TunnelDevice', 'UpdateHostKeys', 'User', 'UserKnownHostsFile', 'VerifyHostKeyDNS',
  'VisualHostKey', 'XAuthLocation',
];

/** Keywords that may be given several times for one host, every occurrence counting. */
export const REPEATABLE_KEYWORDS: ReadonlySet<string> = new Set([
  'CertificateFile', 'DynamicForward', 'IdentityFile', 'LocalForward', 'RemoteForward', 'SendEnv', 'SetEnv',
]);

const BY_LOWER = new Map(SSH_KEYWORDS.map((keyword) => [keyword.toLowerCase(), keyword]));

/** The documented spelling of `keyword` (any case), or undefined when ssh has no such keyword. */
export function canonicalKeyword(keyword: string): string | undefined {
  return BY_LOWER.get(keyword.toLowerCase());
}

/** The known keyword closest to a misspelt one, when one is close enough to be a likely typo. */
export function suggestKeyword(keyword: string): string | undefined {
  const lower = keyword.toLowerCase();
  let best: { keyword: string; distance: number } | undefined;
  for (const candidate of SSH_KEYWORDS) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (best === undefined || distance < best.distance) best = { keyword: candidate, distance };
  }
  return best !== undefined && best.distance <= Math.max(1, Math.floor(keyword.length / 4)) ? best.keyword : undefined;
}

// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
// neighbours ("Prot" for "Port") each cost 1.
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number): number => d[i]?.[j] ?? 0;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      const row = d[i];
      if (row !== undefined) row[j] = best;
    }
  }
  return at(a.length, b.length);
}
