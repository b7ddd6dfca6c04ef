import { Role, type Task } from '@a2a-js/sdk';
import type { ChatMessage } from '../../../protocol/index.js';
import { textOf } from '../executor.js';

/** Messages of a task's history an agent run is given at most (the newest; as the A2A executor does). */
const MAX_INPUT_MESSAGES = 100;

/**
 * A task's history as the conversation its agent's runs saw (user and assistant messages, as
 * the A2A executor builds a run's input): a proxy agent finds the remote thread of the task
 * by it.
 *
 * @example
 * provider.taskCanceled(conversationOf(task));
 */
export function conversationOf(task: Task): ChatMessage[] {
  return task.history.slice(-MAX_INPUT_MESSAGES).map((m) => (m.role === Role.ROLE_AGENT ? { role: 'assistant', content: textOf(m) } : { role: 'user', content: textOf(m) }));
}
