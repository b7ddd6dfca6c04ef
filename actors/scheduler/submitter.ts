import type { ModuleHost } from '../modules/index.js';
import { TroupeError, isTroupeError } from '../../protocol/index.js';

/** Task states that end a task. */
export const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

/**
 * What the scheduler needs from the task runtime: submit with an idempotency key (the fire
 * id, so a fire submitted again after a restart maps to the same task), and optionally read
 * a task's status (for overlap and pause-on-failure) and cancel one (cancel-other).
 *
 * @example
 * const submitter: TaskSubmitter = { submitTask: async (body) => ({ id: body.idempotency_key }) };
 */
export interface TaskSubmitter {
  submitTask(body: Record<string, unknown> & { idempotency_key: string }): Promise<{ id: string }>;
  getTask?(id: string): Promise<{ id: string; status: string } | undefined>;
  cancelTask?(id: string): Promise<unknown>;
}

/**
 * The submitter of a node: the given one, else the `aoa` module's API (looked up at each use,
 * since aoa may start after the scheduler). Without either a fire fails with
 * TROUPE_ERR_SCHEDULER_NO_RUNTIME and is retried.
 */
export function resolveSubmitter(host: Pick<ModuleHost, 'hasModule' | 'module'>, given: TaskSubmitter | undefined): () => TaskSubmitter {
  return () => {
    if (given) return given;
    if (host.hasModule('aoa')) return aoaSubmitter(host.module<TaskSubmitter>('aoa'));
    throw new TroupeError('TROUPE_ERR_SCHEDULER_NO_RUNTIME', 'this node runs no task runtime (aoa module) and the scheduler was given no submitter');
  };
}

/** The aoa API as a submitter: a task it no longer knows (pruned after retention) reads as gone. */
function aoaSubmitter(aoa: TaskSubmitter): TaskSubmitter {
  return {
    submitTask: (body) => aoa.submitTask(body),
    getTask: async (id) => {
      try {
        return await aoa.getTask!(id);
      } catch (e) {
        if (isTroupeError(e) && e.code === 'TROUPE_ERR_AOA_TASK_NOT_FOUND') return undefined;
        throw e;
      }
    },
    cancelTask: (id) => aoa.cancelTask!(id),
  };
}
