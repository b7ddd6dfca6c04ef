import type { Strategy } from './strategy.js';

/** Only the failed child is restarted. */
export const oneForOne: Strategy = {
  name: 'one-for-one',
  affected: (_children, failed) => [failed],
};
