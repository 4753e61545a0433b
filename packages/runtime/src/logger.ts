/**
 * Where the library reports what it does. Every method is optional; the default logger
 * says nothing. Pass `console` to see everything, or adapt your own logger.
 *
 * @example
 * new Runtime('h1', { logger: { info: (m) => myLog.info(m) } })
 */
export interface Logger {
  debug?(message: string): void;
  info?(message: string): void;
  warn?(message: string): void;
  error?(message: string): void;
}

/** The default: says nothing. */
export const silentLogger: Logger = Object.freeze({});
