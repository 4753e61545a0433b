export { LazyclusterError, isLazyclusterError, type LazyclusterErrorCode } from './errors.js';
