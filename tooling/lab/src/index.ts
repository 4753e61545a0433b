// The whole public surface of @lazycluster/lab.
export type {
  HostChildProcess,
  HostCommandResult,
  HostProcess,
  LabDescription,
  LabHost,
  LabOptions,
} from './lab.js';
export {
  LabInUseError,
  execOnHost,
  hostProcesses,
  labDown,
  labJsonPath,
  labUp,
  listeningPortsOnHost,
  readLab,
  spawnOnHost,
  sshToHost,
} from './lab.js';
