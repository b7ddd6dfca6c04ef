import { exponentialDelay, type ExponentialBackoff } from '../protocol/index.js';

/** Reconnect backoff settings (see `reconnect` in the transport options). */
export type ReconnectBackoff = ExponentialBackoff;

/**
 * Delay before reconnect attempt `attempt` (0-based): exponential from `minMs`, capped at
 * `maxMs`, stretched by up to `randomFactor` so that nodes cut off together do not all
 * redial in the same instant.
 *
 * @example
 * reconnectDelay({ minMs: 100, maxMs: 5000, randomFactor: 0.2 }, 3, Math.random); // 800..960
 */
export function reconnectDelay(b: ReconnectBackoff, attempt: number, random: () => number = Math.random): number {
  return exponentialDelay(attempt, b, random());
}
