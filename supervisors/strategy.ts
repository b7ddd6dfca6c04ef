import { oneForAll } from './strategy-one-for-all.js';
import { oneForOne } from './strategy-one-for-one.js';
import { restForOne } from './strategy-rest-for-one.js';

export type StrategyName = 'one-for-one' | 'one-for-all' | 'rest-for-one';

/**
 * A strategy names which children a failure affects. `children` is in start order; the
 * result is in start order too (restart order); stopping runs it reversed.
 */
export interface Strategy {
  readonly name: StrategyName;
  affected(children: readonly string[], failed: string): string[];
}

/** @example strategyFor('rest-for-one').affected(['a','b','c'], 'b') // ['b','c'] */
export function strategyFor(name: StrategyName): Strategy {
  switch (name) {
    case 'one-for-one': return oneForOne;
    case 'one-for-all': return oneForAll;
    case 'rest-for-one': return restForOne;
  }
}
