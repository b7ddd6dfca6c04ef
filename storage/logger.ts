/**
 * The slice of a pino logger that storage uses. A `pino()` instance satisfies it; so does
 * any object with these four methods.
 *
 * @example
 * const store = await NodeStore.open({ dir, logger: pino({ name: 'storage' }) });
 */
export interface StoreLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = (): void => {};

/**
 * A logger that drops everything: the default when none is given.
 *
 * @example
 * const log: StoreLogger = options.logger ?? silentLogger;
 */
export const silentLogger: StoreLogger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop });
