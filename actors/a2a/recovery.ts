import { Task, TaskState } from '@a2a-js/sdk';
import type { Logger } from 'pino';
import { TroupeError, type Clock, type ErrorCode } from '../../protocol/index.js';
import type { TaskActors } from './task-store.js';
import type { TaskJson } from './task-actor.js';

/** Why a recovered task failed, in its status message and metadata. */
export const INTERRUPTED_CODE = 'TROUPE_ERR_A2A_TASK_INTERRUPTED' satisfies ErrorCode;

/**
 * On start: every task that was submitted or working when the node stopped (a crash, kill -9)
 * is failed with a coded reason, never left working; one whose journal got further than its
 * listing is listed as journaled. Interrupted tasks (input-required,
 * auth-required) stay as they are: a follow-up resumes them from the stored task.
 */
export async function recoverTasks(tasks: TaskActors, clock: Clock, log: Logger, onFailed?: (agent: string, scope: { tenant: string; owner: string }, task: Task) => Promise<void>): Promise<number> {
  let n = 0;
  for (const e of tasks.all()) {
    if (e.state !== TaskState.TASK_STATE_WORKING && e.state !== TaskState.TASK_STATE_SUBMITTED) continue;
    // the task actor's journal is the truth: a crash between its commit and the listing's
    // may have left the listing behind (a task that completed, listed as working)
    const journaled = await tasks.journaled(e.agent, { tenant: e.tenant, owner: e.owner }, e.id);
    const task = Task.fromJSON(journaled ?? e.task);
    const state = task.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED;
    if (state !== TaskState.TASK_STATE_WORKING && state !== TaskState.TASK_STATE_SUBMITTED) {
      await tasks.save(e.agent, { tenant: e.tenant, owner: e.owner }, Task.toJSON(task) as TaskJson);
      continue;
    }
    const reason = new TroupeError(INTERRUPTED_CODE, 'the node stopped while the task was working');
    task.status = {
      state: TaskState.TASK_STATE_FAILED,
      timestamp: new Date(clock.now()).toISOString(),
      message: {
        messageId: `${task.id}-interrupted`, contextId: task.contextId, taskId: task.id, role: 2,
        parts: [{ content: { $case: 'text', value: `${reason.code}: ${reason.message}` }, mediaType: 'text/plain', filename: '', metadata: undefined }],
        metadata: { code: reason.code }, extensions: [], referenceTaskIds: [],
      },
    };
    task.metadata = { ...(task.metadata ?? {}), code: reason.code };
    await tasks.save(e.agent, { tenant: e.tenant, owner: e.owner }, Task.toJSON(task) as TaskJson);
    // its push notification receivers learn it too
    await onFailed?.(e.agent, { tenant: e.tenant, owner: e.owner }, task).catch((err: unknown) => log.warn({ err, task: task.id }, 'push notification of a recovered task not queued'));
    log.warn({ err: reason, task: task.id, agent: e.agent }, 'A2A task was working when the node stopped; failed');
    n++;
  }
  return n;
}
