/**
 * What a supervisor does about a failed child. `resume` keeps the child's state and goes on
 * with the next message; `restart` re-spawns it from its spec; `stop` stops it for good;
 * `escalate` fails the supervisor itself, handing the decision to its parent.
 */
export type Directive = 'resume' | 'restart' | 'stop' | 'escalate';

/** Maps an error to a directive. The default restarts on every error. */
export type Decider = (error: unknown) => Directive;

/** @example const d: Decider = defaultDecider; d(new Error('x')) // 'restart' */
export const defaultDecider: Decider = () => 'restart';
