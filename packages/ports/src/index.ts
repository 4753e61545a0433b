export { LazyclusterError, isLazyclusterError, type LazyclusterErrorCode } from './errors.js';
export {
  PortInUseError,
  NoPortsLeftError,
  type PortInUseErrorOptions,
  type NoPortsLeftErrorOptions,
} from './port-errors.js';
export {
  MIN_PORT,
  MAX_PORT,
  validatePort,
  validatePortList,
  portRange,
  parsePortList,
  formatPortList,
} from './port-list.js';
export { MANAGER_HOST, isPortFreeOnManager, managerProbe } from './local-ports.js';
export {
  LISTENING_PORTS_COMMAND,
  parseProcNetTcp,
  parseSsListening,
  parseListeningPortsOutput,
} from './proc-net-tcp.js';
export { remoteProbe, type PortProbe, type RunCommand } from './probe.js';
export { PortLeases, defaultPortLeases, type PortLease } from './leases.js';
export {
  negotiate,
  negotiatePort,
  negotiatePorts,
  requirePort,
  type ProbeOptions,
  type NegotiateOptions,
  type RequirePortOptions,
  type NegotiatedPort,
  type NegotiatedPorts,
} from './negotiate.js';
