/**
 * What a supervisor does about a failed child. `resume` keeps the child's state and goes on
 * with the next message; `restart` re-spawns it from its spec; `stop` stops it for good;
 * `escalate` fails the supervisor itself, handing the decision to its parent.
 */
export type Directive = 'resume' | 'restart' | 'stop' | 'escalate';

/** Maps an error to a directive. The default restarts on every error. */
export type Decider = (error: unknown) => Directive;

/**
 * Restart on every error, except a corrupt persisted record: a new incarnation would read the
 * same record and fail again, so the actor is stopped and the error reported.
 *
 * @example defaultDecider(new Error('x')) // 'restart'
 */
export const defaultDecider: Decider = (error) =>
  (error as { code?: unknown } | undefined)?.code === 'TROUPE_ERR_STORAGE_CORRUPT_RECORD' ? 'stop' : 'restart';
