import { TaskState, type Task } from '@a2a-js/sdk';
import type { A2ARequestHandler, DefaultRequestHandler } from '@a2a-js/sdk/server';
import type { Logger } from 'pino';
import { FollowUpGuard } from './follow-ups.js';
import type { TaskActors } from './task-store.js';

/** Told of each A2A task of this node canceled through its agent's endpoint: the agent that ran it, and the task as canceled. */
export type TaskCanceledListener = (agent: string, task: Task) => void;

/** Listeners of canceled tasks (the external agents module follows its proxy agents' tasks). */
export class TaskCancels {
  private readonly listeners = new Set<TaskCanceledListener>();

  constructor(private readonly log: Logger) {}

  /** Follow canceled tasks; returns the unsubscribe. */
  on(listener: TaskCanceledListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  emit(agent: string, task: Task): void {
    for (const l of this.listeners) {
      try {
        l(agent, task);
      } catch (e) {
        // a listener's bug must not fail the cancel, which has happened
        this.log.warn({ err: e, task: task.id }, 'a canceled-task listener failed');
      }
    }
  }
}

/**
 * The follow-up guard that also tells {@link TaskCancels} of every task its cancel leaves
 * canceled, named by the agent that ran it (a task of the node's own agent by the agent it
 * was routed to).
 *
 * @example
 * const handler = new CancelReporting(new DefaultRequestHandler(card, store, executor), 'far', tasks, cancels);
 */
export class CancelReporting extends FollowUpGuard {
  constructor(inner: DefaultRequestHandler, private readonly agentName: string, tasks: TaskActors, private readonly cancels: TaskCancels) {
    super(inner, agentName, tasks);
  }

  override async cancelTask(...a: Parameters<A2ARequestHandler['cancelTask']>): ReturnType<A2ARequestHandler['cancelTask']> {
    const task = await super.cancelTask(...a);
    if (task.status?.state === TaskState.TASK_STATE_CANCELED) {
      const ranBy = (task.metadata as { agent?: unknown } | undefined)?.agent;
      this.cancels.emit(typeof ranBy === 'string' ? ranBy : this.agentName, task);
    }
    return task;
  }
}
