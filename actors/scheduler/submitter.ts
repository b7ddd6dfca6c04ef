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
    if (given) return audited(host, given);
    if (host.hasModule('aoa')) return audited(host, aoaSubmitter(host.module<TaskSubmitter>('aoa')));
    throw new TroupeError('TROUPE_ERR_SCHEDULER_NO_RUNTIME', 'this node runs no task runtime (aoa module) and the scheduler was given no submitter');
  };
}

/** A fire's submit, then its JOB_FIRE record in the audit log (when the node runs it) before the fire counts as submitted. */
function audited(host: Pick<ModuleHost, 'hasModule' | 'module'>, sub: TaskSubmitter): TaskSubmitter {
  return {
    // delegated, not spread: a submitter may be a class instance whose methods are on its prototype
    ...(sub.getTask ? { getTask: (id: string) => sub.getTask!(id) } : {}),
    ...(sub.cancelTask ? { cancelTask: (id: string) => sub.cancelTask!(id) } : {}),
    submitTask: async (body) => {
      const t = await sub.submitTask(body);
      if (host.hasModule('audit')) {
        const fire = body.idempotency_key;
        await host.module<{ record(input: Record<string, unknown>): Promise<unknown> }>('audit').record({
          action: 'JOB_FIRE', actor: 'scheduler', target: fire.split('@')[0]!.slice(0, 200), correlationId: t.id.slice(0, 200), details: { fire_id: fire.slice(0, 500), task_id: t.id.slice(0, 500) },
        });
      }
      return t;
    },
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
