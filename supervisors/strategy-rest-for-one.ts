import type { Strategy } from './strategy.js';

/** The failed child and every child started after it are restarted. */
export const restForOne: Strategy = {
  name: 'rest-for-one',
  affected: (children, failed) => {
    const i = children.indexOf(failed);
    return i < 0 ? [failed] : children.slice(i);
  },
};
