export {
  AuthenticationError,
  CommandFailedError,
  ConnectionError,
  HostKeyMismatchError,
  InvalidRuntimeError,
  NoRuntimesDetectedError,
  PathCreationError,
  SshConfigError,
  TaskExecutionError,
  type HostKeyProblem,
} from './errors.js';
export { LazyclusterError, isLazyclusterError, NoPortsLeftError, PortInUseError, type LazyclusterErrorCode } from '@lazycluster/ports';
export { silentLogger, type Logger } from './logger.js';
export { RemoteProcess, type ProcessOutcome } from './remote-process.js';
export {
  defaultSshConfigPath,
  LOCALHOST,
  Runtime,
  type Command,
  type CommandOptions,
  type ExecOptions,
  type ExecResult,
  type HostKeyPolicy,
  type RuntimeInfo,
  type RuntimeOptions,
  type SpawnOptions,
  type Tunnel,
} from './runtime.js';
export { RuntimeGroup, type GroupPortOptions, type GroupTaskOptions, type RuntimeGroupOptions } from './runtime-group.js';
export { RuntimeManager, type CreateGroupOptions, type InactiveHost, type RuntimeManagerOptions } from './runtime-manager.js';
export { quoteShellArg, shellCommand } from './shell-quote.js';
export { parseHostSpec, formatHostSpec, type HostSpec } from './internal/ssh/host-spec.js';
export { RuntimeTask, type JsonValue, type TaskStep } from './task.js';
export { TaskRun, type ExecuteTaskOptions, type ExecutionLogEntry } from './task-run.js';
