import { z } from 'zod';
import type { ActorSpec } from '../kernel/index.js';

/**
 * One A2A task as a persistent actor: its state is the task's last saved snapshot (the SDK's
 * `Task.toJSON` form, journaled as `a2a.task.saved` events), so a task outlives the process.
 * Its mailbox serializes every read and write of the task, and every follow-up: of the
 * messages that answer one input-required (or auth-required) status, exactly one claims the
 * continuation; a repeat of that message (same messageId) gets the winner's response, which
 * is journaled, so it is the same answer after a restart too.
 */

/** The task as journaled: the SDK's version-stable JSON of a `Task` (validated on read). */
export const taskJsonSchema = z.object({
  id: z.string().min(1).max(256),
  contextId: z.string().max(256).optional(),
  status: z.object({ state: z.string().max(64) }).loose().optional(),
}).loose();
export type TaskJson = z.infer<typeof taskJsonSchema>;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isBoundedString = (v: unknown, min: number, max: number): boolean => typeof v === 'string' && v.length >= min && v.length <= max;

/**
 * The same bounds as {@link taskJsonSchema}, checked in place: a save carries the task the
 * store just built, so its message is checked without copying the task (the journal's
 * records are parsed with the schema when they are read back).
 */
function isTaskJson(v: unknown): v is TaskJson {
  if (!isRecord(v) || !isBoundedString(v.id, 1, 256)) return false;
  if (v.contextId !== undefined && !isBoundedString(v.contextId, 0, 256)) return false;
  const status = v.status;
  return status === undefined || (isRecord(status) && (status.state === undefined || isBoundedString(status.state, 0, 64)));
}
const taskJsonInPlace = z.custom<TaskJson>(isTaskJson, { message: 'task: an object with an id (1-256 chars), a contextId and status.state within bounds' });

/** A send's recorded response: the SDK's JSON of the Task or Message it returned, or its error. */
export const sendResponseSchema = z.union([
  z.object({ task: taskJsonSchema }),
  z.object({ message: z.object({ messageId: z.string().max(256) }).loose() }),
  z.object({ error: z.object({ message: z.string().max(1_000) }) }),
]);
export type SendResponse = z.infer<typeof sendResponseSchema>;

const messageId = z.string().min(1).max(256);

export const taskMessageSchema = z.discriminatedUnion('type', [
  /** `commit`: reply once the save is committed, whatever the step (a read by another request is waiting). */
  z.object({ type: z.literal('a2a.task.save'), task: taskJsonInPlace, commit: z.boolean().optional() }),
  z.object({ type: z.literal('a2a.task.load') }),
  /** A follow-up message wants to continue the task: answered with a {@link ClaimVerdict}. */
  z.object({ type: z.literal('a2a.task.claim'), messageId }),
  /** The winning follow-up's response, journaled for its repeats. */
  z.object({ type: z.literal('a2a.task.answered'), messageId, response: sendResponseSchema }),
]);
export type TaskMessage = z.infer<typeof taskMessageSchema>;

/**
 * What a follow-up may do: `won` continue the task (it is the one continuation); `duplicate`
 * return the response of the earlier message with its id; `refused` nothing (the task is
 * not waiting for input, or another message already answered it); `pass` hand it to the SDK,
 * which refuses a terminal task itself; `retry` ask again (the message with this id failed
 * before anything ran, so the claim was released); `unknown` no such task.
 */
export type ClaimVerdict =
  | { kind: 'won' }
  | { kind: 'duplicate'; response: SendResponse | null }
  | { kind: 'refused'; state: string }
  | { kind: 'pass' }
  | { kind: 'retry' }
  | { kind: 'unknown' };

/** Answered follow-ups remembered per task (their repeats get the same response). */
const MAX_ANSWERS = 64;
/** Repeats of one in-flight follow-up waiting for its response, per task. */
const MAX_WAITERS = 1_000;

const INTERRUPTED = new Set(['TASK_STATE_INPUT_REQUIRED', 'TASK_STATE_AUTH_REQUIRED']);
const TERMINAL = new Set(['TASK_STATE_COMPLETED', 'TASK_STATE_FAILED', 'TASK_STATE_CANCELED', 'TASK_STATE_REJECTED']);

interface TaskState {
  task: TaskJson | undefined;
  /** Responses of answered follow-ups, oldest first (bounded). */
  answers: Array<{ messageId: string; response: SendResponse }>;
}

type TaskEvent =
  | { type: 'a2a.task.saved'; task: TaskJson }
  | { type: 'a2a.task.answered'; messageId: string; response: SendResponse };

/**
 * Events this process built (and checked as messages): applied as they are. Events read back
 * from the journal are other objects, parsed with the schemas.
 */
const built = new WeakSet<object>();

/** Which interruption a status is: its message's id, else its timestamp. */
function interruptionOf(task: TaskJson): string {
  const status = task.status as { message?: { messageId?: string }; timestamp?: string } | undefined;
  return status?.message?.messageId ?? status?.timestamp ?? '';
}

/**
 * Spec of the actor of one task, journaled under `key`. `list` writes the task's listing; it
 * is called in the same turn as the journal write, so both share one LMDB commit. `seed` is
 * the task as listed, where the actor's journal starts: a task a blocking send ended without
 * an actor has its record (the listing) and no journal, and its events fold over the listing.
 */
export function taskActorSpec(name: string, key: string, list?: (task: TaskJson) => Promise<unknown>, seed?: () => TaskJson | undefined): ActorSpec<TaskState, TaskMessage, TaskEvent> {
  // In memory only: a continuation claimed in this process. After a restart the claim is gone
  // with the run it started (a task left working is failed on start; one still waiting for
  // input can be answered again, nothing having run).
  const claims = new Map<string, string>(); // messageId -> interruption it answered
  const waiters = new Map<string, Array<(v: ClaimVerdict) => void>>();
  let claimed: string | undefined;
  return {
    name,
    restart: 'transient',
    behaviour: {
      messages: taskMessageSchema,
      initial: () => ({ task: seed?.(), answers: [] }),
      persistence: {
        key,
        snapshotEvery: 50,
        apply: (s, e) => {
          if (e.type === 'a2a.task.answered') {
            const parsed = sendResponseSchema.safeParse(e.response);
            if (!parsed.success) return s;
            return { ...s, answers: [...s.answers.filter((a) => a.messageId !== e.messageId), { messageId: e.messageId, response: parsed.data }].slice(-MAX_ANSWERS) };
          }
          if (built.has(e)) return { ...s, task: e.task };
          const parsed = taskJsonSchema.safeParse(e.task);
          return parsed.success ? { ...s, task: parsed.data } : s;
        },
      },
      receive: async (s, m, ctx) => {
        switch (m.type) {
          case 'a2a.task.load':
            ctx.reply(s.task ?? null);
            return;
          case 'a2a.task.save': {
            const created = s.task === undefined;
            const state = m.task.status?.state ?? '';
            const event: TaskEvent = { type: 'a2a.task.saved', task: m.task };
            built.add(event);
            const written = Promise.all([ctx.persist(event), list?.(m.task)]);
            // What a client may hold on to is durable before the SDK goes on: a new task (a
            // non-blocking send answers with it), an interruption and an end. A step between
            // (working, an artifact) is ordered before the task's next save, which waits for
            // the commit (a failed write fails that one too); a crash in between leaves the task
            // as it was before the step, and recovery fails a task that was working.
            if (created || m.commit === true || TERMINAL.has(state) || INTERRUPTED.has(state)) {
              await written;
            } else {
              written.catch((err: unknown) => ctx.log.warn({ err, task: m.task.id }, 'saving an A2A task step failed'));
            }
            ctx.reply(true);
            return;
          }
          case 'a2a.task.claim': {
            const answered = s.answers.find((a) => a.messageId === m.messageId);
            if (answered) return ctx.reply({ kind: 'duplicate', response: answered.response } satisfies ClaimVerdict);
            if (claims.has(m.messageId)) {
              const list = waiters.get(m.messageId) ?? [];
              if (list.length >= MAX_WAITERS) return ctx.reply({ kind: 'duplicate', response: null } satisfies ClaimVerdict);
              const r = ctx.replier();
              list.push((v) => r.reply(v));
              waiters.set(m.messageId, list);
              return;
            }
            if (!s.task) return ctx.reply({ kind: 'unknown' } satisfies ClaimVerdict);
            const state = s.task.status?.state ?? 'TASK_STATE_UNSPECIFIED';
            if (TERMINAL.has(state)) return ctx.reply({ kind: 'pass' } satisfies ClaimVerdict);
            const interruption = interruptionOf(s.task);
            if (!INTERRUPTED.has(state) || claimed === interruption) return ctx.reply({ kind: 'refused', state } satisfies ClaimVerdict);
            claimed = interruption;
            claims.set(m.messageId, interruption);
            if (claims.size > MAX_ANSWERS) claims.delete(claims.keys().next().value as string);
            return ctx.reply({ kind: 'won' } satisfies ClaimVerdict);
          }
          case 'a2a.task.answered': {
            if ('error' in m.response) {
              // refused before anything ran (bad params, a context mismatch): the task still waits
              if (claims.get(m.messageId) === claimed) claimed = undefined;
              claims.delete(m.messageId);
              for (const w of waiters.get(m.messageId) ?? []) w({ kind: 'retry' });
              waiters.delete(m.messageId);
              ctx.reply(true);
              return;
            }
            await ctx.persist({ type: 'a2a.task.answered', messageId: m.messageId, response: m.response } satisfies TaskEvent);
            for (const w of waiters.get(m.messageId) ?? []) w({ kind: 'duplicate', response: m.response });
            waiters.delete(m.messageId);
            ctx.reply(true);
            return;
          }
        }
      },
    },
  };
}
