import { z } from 'zod';
import type { ActorSpec } from '../kernel/index.js';

/**
 * One A2A task as a persistent actor: its state is the task's last saved snapshot (the SDK's
 * `Task.toJSON` form, journaled as `a2a.task.saved` events), so a task outlives the process.
 * Its mailbox serializes every read and write of the task.
 */

/** The task as journaled: the SDK's version-stable JSON of a `Task` (validated on read). */
export const taskJsonSchema = z.object({
  id: z.string().min(1).max(256),
  contextId: z.string().max(256).optional(),
  status: z.object({ state: z.string().max(64) }).loose().optional(),
}).loose();
export type TaskJson = z.infer<typeof taskJsonSchema>;

export const taskMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('a2a.task.save'), task: taskJsonSchema }),
  z.object({ type: z.literal('a2a.task.load') }),
]);
export type TaskMessage = z.infer<typeof taskMessageSchema>;

interface TaskState {
  task: TaskJson | undefined;
}

type TaskEvent = { type: 'a2a.task.saved'; task: TaskJson };

/** Spec of the actor of one task, journaled under `key`. */
export function taskActorSpec(name: string, key: string): ActorSpec<TaskState, TaskMessage, TaskEvent> {
  return {
    name,
    restart: 'transient',
    behaviour: {
      messages: taskMessageSchema,
      initial: () => ({ task: undefined }),
      persistence: {
        key,
        snapshotEvery: 50,
        apply: (s, e) => {
          const parsed = taskJsonSchema.safeParse(e.task);
          return parsed.success ? { task: parsed.data } : s;
        },
      },
      receive: async (s, m, ctx) => {
        if (m.type === 'a2a.task.load') {
          ctx.reply(s.task ?? null);
          return;
        }
        await ctx.persist({ type: 'a2a.task.saved', task: m.task } satisfies TaskEvent);
        ctx.reply(true);
      },
    },
  };
}
