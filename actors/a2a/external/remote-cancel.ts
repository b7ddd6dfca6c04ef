import { TaskState, type Task } from '@a2a-js/sdk';
import type { Client } from '@a2a-js/sdk/client';
import type { Logger } from 'pino';
import type { Clock } from '../../../protocol/index.js';

/** States after which a remote task can no longer be canceled. */
const FINISHED = new Set([TaskState.TASK_STATE_COMPLETED, TaskState.TASK_STATE_FAILED, TaskState.TASK_STATE_CANCELED, TaskState.TASK_STATE_REJECTED]);
/** Tasks of one remote context looked at when a cancel knows only the context. */
const MAX_LISTED = 20;
/** How long after a listing that found no task of the context it is listed once more. */
const RELOOK_MS = 500;

/** Which remote task to cancel: by its id, or (a blocking call cut before its answer named it) by the context the proxy gave it. */
export type RemoteTaskRef = { taskId: string; contextId?: string } | { taskId?: undefined; contextId: string };

/** How a remote cancel ended (logged; returned for tests). */
export type RemoteCancelOutcome =
  | { outcome: 'canceled'; taskIds: string[] }
  | { outcome: 'not-found' }
  | { outcome: 'failed'; error: string }
  | { outcome: 'timed-out' };

/**
 * Cancel a remote A2A task through the SDK client (`CancelTask`, `tasks/cancel` for a 0.3
 * server), bounded by `timeoutMs` on the node's clock, its outcome logged. A task known only
 * by its context (the proxy names the context of every new remote thread, so a blocking call
 * cut before the answer named its task still leaves a handle) is found with `ListTasks` on
 * that context first; a server that cannot list leaves it running, and says so in the log.
 * Never throws.
 *
 * @example
 * await cancelRemoteTask(client, { taskId: 'remote-1' }, { clock, timeoutMs: 5_000, log, why: 'our task was canceled' });
 */
export async function cancelRemoteTask(
  client: Client,
  ref: RemoteTaskRef,
  o: { clock: Clock; timeoutMs: number; log: Logger; why: string },
): Promise<RemoteCancelOutcome> {
  const ac = new AbortController();
  const timer = o.clock.setTimeout(() => ac.abort(), o.timeoutMs);
  const signal = ac.signal;
  let out: RemoteCancelOutcome;
  try {
    const running = async (): Promise<string[]> => {
      const page = await client.listTasks({
        tenant: '', contextId: ref.contextId ?? '', status: TaskState.TASK_STATE_UNSPECIFIED, pageSize: MAX_LISTED, pageToken: '', historyLength: 0, statusTimestampAfter: undefined,
        includeArtifacts: false,
      }, { signal });
      return page.tasks.filter((t: Task) => !FINISHED.has(t.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED)).map((t: Task) => t.id);
    };
    let ids = ref.taskId ? [ref.taskId] : await running();
    if (ids.length === 0) {
      // the call was cut before the remote server made its task, perhaps: look once more, a moment later
      await new Promise<void>((resolve) => o.clock.setTimeout(resolve, Math.min(RELOOK_MS, o.timeoutMs / 4)));
      ids = await running();
    }
    const canceled: string[] = [];
    for (const id of ids) {
      const t = await client.cancelTask({ tenant: '', id, metadata: undefined }, { signal });
      if (t.status?.state === TaskState.TASK_STATE_CANCELED) canceled.push(id);
    }
    out = canceled.length > 0 ? { outcome: 'canceled', taskIds: canceled } : { outcome: 'not-found' };
  } catch (e) {
    out = signal.aborted ? { outcome: 'timed-out' } : { outcome: 'failed', error: String((e as Error)?.message ?? e).slice(0, 300) };
  } finally {
    o.clock.clearTimeout(timer);
  }
  const fields = { why: o.why, ...(ref.taskId ? { remoteTask: ref.taskId } : { remoteContext: ref.contextId }), ...out };
  if (out.outcome === 'canceled') o.log.info(fields, 'remote A2A task canceled');
  else if (out.outcome === 'not-found') o.log.info(fields, 'no running remote A2A task to cancel');
  else o.log.warn(fields, out.outcome === 'timed-out' ? `remote A2A task cancel timed out after ${o.timeoutMs}ms` : 'remote A2A task cancel failed');
  return out;
}
