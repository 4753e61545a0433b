import { readFile } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
// ssh2 is CommonJS; Node's ESM loader does not see its named exports.
import ssh2, { type Client, type AnyAuthMethod, type AuthenticationType, type ClientChannel, type ConnectConfig, type NextAuthHandler, type SFTPWrapper, type TcpConnectionDetails } from 'ssh2';
import { AuthenticationError, ConnectionError, HostKeyMismatchError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { AgentChannel } from '../agent/agent-client.js';
import { appendKnownHost, checkHostKey, fingerprintSha256, knownHostKeyTypes } from './known-hosts.js';
import type { ResolvedHost } from './ssh-config.js';

type TcpConnectionListener = (details: TcpConnectionDetails, accept: () => ClientChannel, reject: () => void) => void;

/** How a host's key is checked; see `RuntimeOptions.hostKeyPolicy`. */
export type HostKeyPolicy = 'strict' | 'accept-new' | 'off';

export interface SshConnectOptions {
  readonly target: ResolvedHost;
  /** The jump host, already resolved, when the target has ProxyJump. */
  readonly jump?: ResolvedHost;
  readonly hostKeyPolicy: HostKeyPolicy;
  readonly agent?: string | false;
  readonly logger: Logger;
  readonly signal?: AbortSignal;
}

// AES-GCM first: Node's OpenSSL runs it far faster than ssh2's chacha20 without its
// optional native binding, and every OpenSSH server since 6.2 offers it.
const { Client: SshClient, utils } = ssh2;

const CIPHERS = ['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'aes128-ctr', 'aes256-ctr', 'chacha20-poly1305@openssh.com'] as const;

/** One authenticated ssh2 connection to one host. */
export class SshConnection {
  readonly closed: Promise<void>;
  #sftp: Promise<SFTPWrapper> | undefined;
  #isClosed = false;

  private constructor(
    readonly host: string,
    private readonly client: Client,
    private readonly jumpClient: Client | undefined,
  ) {
    this.closed = new Promise((resolve) => {
      client.once('close', () => {
        this.#isClosed = true;
        jumpClient?.end();
        resolve();
      });
    });
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  static async connect(options: SshConnectOptions): Promise<SshConnection> {
    const { target, jump } = options;
    let jumpClient: Client | undefined;
    let sock: Duplex | undefined;
    if (jump !== undefined) {
      jumpClient = await connectClient(jump, options, undefined);
      try {
        sock = await new Promise<Duplex>((resolve, reject) => {
          jumpClient?.forwardOut('127.0.0.1', 0, target.hostName, target.port, (error, stream) => {
            if (error) reject(new ConnectionError({ host: target.alias, address: target.hostName, port: target.port, cause: error, detail: `through jump host ${jump.alias}` }));
            else resolve(stream);
          });
        });
      } catch (error) {
        jumpClient.end();
        throw error;
      }
    }
    const client = await connectClient(target, options, sock).catch((error: unknown) => {
      jumpClient?.end();
      throw error;
    });
    return new SshConnection(target.alias, client, jumpClient);
  }

  /** Run a command through the user's login shell (used once, to start the agent). */
  async execChannel(command: string): Promise<AgentChannel> {
    const channel = await new Promise<ClientChannel>((resolve, reject) => {
      this.client.exec(command, (error, stream) => (error ? reject(this.#lost(error)) : resolve(stream)));
    });
    const closed = new Promise<void>((resolve) => channel.once('close', () => resolve()));
    return {
      stdin: channel,
      stdout: channel,
      stderr: channel.stderr,
      closed,
      destroy: () => channel.destroy(),
    };
  }

  /** The SFTP session, opened on first use and shared. */
  async sftp(): Promise<SFTPWrapper> {
    if (this.#sftp === undefined) {
      const opening = new Promise<SFTPWrapper>((resolve, reject) => {
        this.client.sftp((error, sftp) => {
          if (error) {
            reject(this.#lost(error));
            return;
          }
          // NOTE: otherwise a session the server ended (internal-sftp exits on a path with a NUL
          // byte, for one) stays cached, and every later transfer waits on it forever.
          sftp.once('close', () => {
            if (this.#sftp === opening) this.#sftp = undefined;
          });
          resolve(sftp);
        });
      });
      this.#sftp = opening;
      opening.catch(() => {
        if (this.#sftp === opening) this.#sftp = undefined;
      });
    }
    return await this.#sftp;
  }

  /** A TCP stream to `127.0.0.1:port` as seen from the remote host. */
  async connectRemote(port: number, host = '127.0.0.1'): Promise<ClientChannel> {
    return await new Promise<ClientChannel>((resolve, reject) => {
      this.client.forwardOut('127.0.0.1', 0, host, port, (error, stream) => (error ? reject(error) : resolve(stream)));
    });
  }

  /**
   * Ask sshd to listen on the remote loopback; each connection arrives as a stream.
   * Resolves false when sshd refused (the port is taken there).
   */
  async listenRemote(port: number, onConnection: (stream: ClientChannel) => void): Promise<boolean> {
    // Already forwarded on this connection: taken, as sshd would say.
    if (this.#remoteListeners.has(port)) return false;
    if (this.#remoteListeners.size === 0) this.client.on('tcp connection', this.#dispatchRemote);
    // Registered first: sshd may hand over a connection as soon as it listens.
    this.#remoteListeners.set(port, onConnection);
    return await new Promise<boolean>((resolve) => {
      this.client.forwardIn('127.0.0.1', port, (error) => {
        if (error) {
          this.#remoteListeners.delete(port);
          if (this.#remoteListeners.size === 0) this.client.off('tcp connection', this.#dispatchRemote);
        }
        resolve(!error);
      });
    });
  }

  // One listener for every remote forward of the connection (a cluster opens dozens),
  // dispatching by port, rather than one listener per forward.
  readonly #remoteListeners = new Map<number, (stream: ClientChannel) => void>();
  readonly #dispatchRemote: TcpConnectionListener = (details, accept, reject): void => {
    const onConnection = this.#remoteListeners.get(details.destPort);
    if (onConnection === undefined) {
      reject();
      return;
    }
    try {
      onConnection(accept());
    } catch {
      reject();
    }
  };

  async unlistenRemote(port: number): Promise<void> {
    if (!this.#remoteListeners.delete(port)) return;
    if (this.#remoteListeners.size === 0) this.client.off('tcp connection', this.#dispatchRemote);
    if (this.#isClosed) return;
    await new Promise<void>((resolve) => {
      this.client.unforwardIn('127.0.0.1', port, () => resolve());
    });
  }

  async close(): Promise<void> {
    if (!this.#isClosed) this.client.end();
    await this.closed;
  }

  destroy(): void {
    this.client.destroy();
  }

  #lost(error: Error): Error {
    return this.#isClosed ? new ConnectionError({ host: this.host, cause: error, detail: 'the connection was lost' }) : error;
  }
}

// ssh2's host key algorithms; those known_hosts already holds for the host go first, so the
// server proves the key on record instead of offering another one (as OpenSSH orders them).
const HOST_KEY_ALGORITHMS = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];

function hostKeyOrder(known: readonly string[]): string[] {
  const wanted = new Set(known.flatMap((type) => (type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type])));
  return [...HOST_KEY_ALGORITHMS.filter((a) => wanted.has(a)), ...HOST_KEY_ALGORITHMS.filter((a) => !wanted.has(a))];
}

function agentSocket(target: ResolvedHost, option: string | false | undefined): string | undefined {
  if (option === false) return undefined;
  if (option !== undefined) return option;
  const configured = target.identityAgent;
  if (configured === 'none') return undefined;
  if (configured !== undefined && configured !== 'SSH_AUTH_SOCK') {
    return configured.startsWith('$') ? process.env[configured.slice(1)] : configured;
  }
  const fromEnv = process.env.SSH_AUTH_SOCK;
  return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
}

async function connectClient(target: ResolvedHost, options: SshConnectOptions, sock: Duplex | undefined): Promise<Client> {
  const { logger } = options;
  const policy: HostKeyPolicy = options.hostKeyPolicy === 'strict' && target.strictHostKeyChecking === 'accept-new' ? 'accept-new' : options.hostKeyPolicy;
  const keys = await loadIdentities(target);
  const agentPath = agentSocket(target, options.agent);
  const knownHostsFiles = [...target.userKnownHostsFiles, ...target.globalKnownHostsFiles];
  const lookup = {
    host: target.hostName,
    port: target.port,
    files: knownHostsFiles,
    aliases: [target.alias],
    ...(target.hostKeyAlias === undefined ? {} : { hostKeyAlias: target.hostKeyAlias }),
  };
  let hostKeyFailure: Error | undefined;
  const triedKeys: string[] = [];

  // Keys from files first, then the agent: with IdentitiesOnly OpenSSH still lets the
  // agent sign for the configured keys, so the agent stays last rather than dropped.
  const methods: { method: AnyAuthMethod; keyPath?: string }[] = keys.map((key) => ({ method: { type: 'publickey', username: target.user, key: key.data }, keyPath: key.path }));
  if (agentPath !== undefined) methods.push({ method: { type: 'agent', username: target.user, agent: agentPath } });
  let next = 0;

  const config: ConnectConfig = {
    host: target.hostName,
    port: target.port,
    username: target.user,
    readyTimeout: (target.connectTimeoutSec ?? 10) * 1000,
    keepaliveInterval: (target.serverAliveIntervalSec ?? 15) * 1000,
    keepaliveCountMax: target.serverAliveCountMax ?? 3,
    ...(target.addressFamily === 'inet' ? { forceIPv4: true } : target.addressFamily === 'inet6' ? { forceIPv6: true } : {}),
    algorithms: { cipher: [...CIPHERS], serverHostKey: hostKeyOrder(knownHostKeyTypes(lookup)) as never },
    hostVerifier: (key: Buffer): boolean => {
      if (policy === 'off') return true;
      const keyType = readKeyType(key);
      const fingerprint = fingerprintSha256(key);
      const result = checkHostKey({ ...lookup, keyType, keyBlob: key });
      switch (result.status) {
        case 'match':
          return true;
        case 'unknown': {
          const file = target.userKnownHostsFiles[0];
          if (policy === 'accept-new' && file !== undefined) {
            appendKnownHost(file, target.hostKeyAlias ?? target.hostName, target.port, keyType, key);
            logger.info?.(`${target.alias}: added ${keyType} ${fingerprint} to ${file}`);
            return true;
          }
          hostKeyFailure = new HostKeyMismatchError({ host: target.hostKeyAlias ?? target.hostName, port: target.port, reason: 'unknown', fingerprint, keyType, files: knownHostsFiles });
          return false;
        }
        case 'mismatch':
          hostKeyFailure = new HostKeyMismatchError({ host: target.hostKeyAlias ?? target.hostName, port: target.port, reason: 'mismatch', file: result.file, line: result.line, fingerprint, keyType, expectedType: result.expectedType });
          return false;
        case 'revoked':
          hostKeyFailure = new HostKeyMismatchError({ host: target.hostKeyAlias ?? target.hostName, port: target.port, reason: 'revoked', file: result.file, line: result.line, fingerprint, keyType });
          return false;
      }
    },
    authHandler: (_left: AuthenticationType[], _partial: boolean, callback: NextAuthHandler): void => {
      const entry = methods[next++];
      if (entry === undefined) {
        // ssh2 takes false as "no more methods", which its types do not spell out.
        callback(false as unknown as AuthenticationType);
        return;
      }
      if (entry.keyPath !== undefined) triedKeys.push(entry.keyPath);
      callback(entry.method);
    },
  };
  if (sock !== undefined) config.sock = sock;

  const client = new SshClient();
  return await new Promise<Client>((resolve, reject) => {
    const onAbort = (): void => {
      client.destroy();
      reject(options.signal?.reason as Error);
    };
    if (options.signal?.aborted === true) {
      onAbort();
      return;
    }
    options.signal?.addEventListener('abort', onAbort, { once: true });
    client.once('ready', () => {
      options.signal?.removeEventListener('abort', onAbort);
      // Requests are small JSON lines; Nagle would hold each one for a delayed ACK (~40 ms).
      client.setNoDelay(true);
      client.removeAllListeners('error');
      // After the handshake, failures surface as 'close'; one listener keeps them from crashing the process.
      client.on('error', (error) => logger.debug?.(`${target.alias}: ${error.message}`));
      resolve(client);
    });
    client.once('error', (error: Error & { level?: string }) => {
      options.signal?.removeEventListener('abort', onAbort);
      client.on('error', () => undefined);
      client.destroy();
      if (hostKeyFailure !== undefined) reject(hostKeyFailure);
      else if (error.level === 'client-authentication') reject(new AuthenticationError({ host: target.alias, user: target.user, keyFiles: triedKeys, agent: agentPath !== undefined, cause: error }));
      else reject(new ConnectionError({ host: target.alias, address: target.hostName, port: target.port, cause: error }));
    });
    client.connect(config);
  });
}

function readKeyType(blob: Buffer): string {
  const length = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + length).toString('ascii');
}

interface LoadedKey {
  readonly path: string;
  readonly data: Buffer;
}

async function loadIdentities(target: ResolvedHost): Promise<LoadedKey[]> {
  const keys: LoadedKey[] = [];
  for (const path of target.identityFiles) {
    const data = await readFile(path).catch(() => undefined);
    if (data === undefined) continue;
    const parsed = utils.parseKey(data);
    // An encrypted key needs a passphrase we do not have; the agent may still hold it.
    if (parsed instanceof Error) continue;
    keys.push({ path, data });
  }
  return keys;
}
