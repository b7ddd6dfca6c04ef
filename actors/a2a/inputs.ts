import type { SendMessageRequest } from '@a2a-js/sdk';
import { RequestMalformedError, TaskNotCancelableError } from '@a2a-js/sdk/errors';

/** Longest id (message, context, task, reference) a message may carry: what the task journal keeps. */
export const MAX_ID_CHARS = 256;

/** Printable ids only (no control characters). */
const CONTROL = /[\u0000-\u001f\u007f]/;

function checkId(name: string, v: string | undefined): void {
  if (!v) return;
  if (v.length > MAX_ID_CHARS) throw new RequestMalformedError(`message.${name} is longer than ${MAX_ID_CHARS} characters`);
  if (CONTROL.test(v)) throw new RequestMalformedError(`message.${name} holds a control character`);
}

/**
 * The ids of a sent message, checked before anything runs (-32602): a context id, task id,
 * message id or reference task id troupe cannot keep is refused, never replaced by a
 * generated one (TCK CORE-MULTI-002a).
 */
export function checkMessageIds(params: SendMessageRequest): void {
  const m = params.message;
  if (!m) return;
  checkId('messageId', m.messageId);
  checkId('contextId', m.contextId);
  checkId('taskId', m.taskId);
  if ((m.referenceTaskIds?.length ?? 0) > 64) throw new RequestMalformedError('message.referenceTaskIds holds at most 64 ids');
  for (const r of m.referenceTaskIds ?? []) checkId('referenceTaskIds', r);
}

/**
 * A follow-up that names only its task continues in the task's context (spec 3.4.3): the
 * message kept in the history carries the context id inferred from the task.
 */
export function inferContext(params: SendMessageRequest, task: { contextId?: string } | undefined): void {
  if (params.message && !params.message.contextId && task?.contextId) params.message.contextId = task.contextId;
}

/**
 * A task already canceled is not cancelable again (-32002, spec 3.1.5); the SDK answers
 * such a cancel with the task as if it had worked.
 */
export function refuseRecancel(task: { status?: { state?: unknown } } | undefined, id: string): void {
  if (task?.status?.state === 'TASK_STATE_CANCELED') throw new TaskNotCancelableError(`task ${id.slice(0, 64)} is already canceled`);
}
