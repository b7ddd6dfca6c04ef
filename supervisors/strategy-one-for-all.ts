import type { Strategy } from './strategy.js';

/** Every child is stopped (reverse start order) and restarted (start order). */
export const oneForAll: Strategy = {
  name: 'one-for-all',
  affected: (children) => [...children],
};
