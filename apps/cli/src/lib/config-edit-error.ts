import { LazyclusterError } from '@lazycluster/runtime';

/** The SSH config cannot be changed as asked (a duplicate or unknown name, a missing key file). Exit code 1. */
export class ConfigEditError extends LazyclusterError {
  readonly file: string;

  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super('CONFIG', message, options);
    this.file = file;
  }
}
