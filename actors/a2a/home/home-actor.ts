import type { A2ARequestHandler } from '@a2a-js/sdk/server';
import type { Logger } from 'pino';
import { TroupeError } from '../../../protocol/index.js';
import type { ActorRef } from '../../kernel/index.js';
import type { ModuleHost } from '../../modules/index.js';
import type { ServerCallContext } from '@a2a-js/sdk/server';
import { RECORDED } from '../follow-ups.js';
import { CallMemory, MAX_REMEMBERED_CALLS, type Outcome } from './call-memory.js';
import { CallRecords, type CallRecord } from './call-records.js';
import {
  EVENT, HOME_NAME, PARAMS, RESULTS, contextOf, homeMessageSchema, toWireError, type CallReply, type Caller, type HomeMessage, type StreamMessage,
} from './wire.js';

/** A call's scope as its memory key sees it: a repeat is answered only to the same caller. */
const scopeKey = (c: Caller): string => `${c.user.authenticated ? 'a' : 'u'}:${c.user.name}\u0000${c.tenant ?? ''}`;

/** Calls and streams served at once for other nodes; past it a call is refused (its caller retries). */
const MAX_IN_FLIGHT = 10_000;

type CallMessage = Extract<HomeMessage, { type: 'a2a.home.call' }>;

const bounded = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 && v.length <= 256 ? v : undefined);

/** What a call's record names, to find its task when its answer was not recorded: a send's message (and task), a cancel's task. */
function named(m: CallMessage): Pick<CallRecord, 'messageId' | 'taskId'> {
  const p = m.params as { message?: { messageId?: unknown; taskId?: unknown }; id?: unknown };
  const out: Pick<CallRecord, 'messageId' | 'taskId'> = {};
  const messageId = m.method === 'sendMessage' ? bounded(p.message?.messageId) : undefined;
  const taskId = m.method === 'sendMessage' ? bounded(p.message?.taskId) : m.method === 'cancelTask' ? bounded(p.id) : undefined;
  if (messageId !== undefined) out.messageId = messageId;
  if (taskId !== undefined) out.taskId = taskId;
  return out;
}

/** The id of the task of `agent` (in the caller's scope) whose history holds the message `messageId`. */
export type TaskOfMessage = (agent: string, ctx: ServerCallContext, messageId: string) => string | undefined;

/**
 * The home of the A2A tasks of this node's agents (`/system/a2a-tasks`): another node that
 * took an A2A request for one of them forwards the request handler's call here, so the
 * task actor, its journal and its listing live where the agent lives. A unary call is
 * answered with its result; a stream is started and its events are told back one by one,
 * numbered, to the asking node's streams actor, then its end. The stream is always drained
 * here, whatever becomes of the asking node (the SDK applies a task's events only in the loop
 * that reads them), so the task stays truthful when the link drops. The asking node asks
 * again when the link drops: a call that changes something (it carries a call id) and a
 * stream's start run once here, their repeats answered from a {@link CallMemory}.
 *
 * @example
 * startHome(host, async (agent) => (await a2a.endpoint(agent))?.handler, log);
 * // another node: host.ask('troupe://n2/system/a2a-tasks', { type: 'a2a.home.call', agent: 'far', method: 'getTask', params, caller })
 */
export function startHome(
  host: Pick<ModuleHost, 'spawnSpec' | 'tell' | 'watch' | 'clock' | 'store'>,
  /** The endpoint of an agent running on this node (none for an agent of another node). */
  handlerOf: (agent: string) => Promise<A2ARequestHandler | undefined>,
  log: Logger,
  /** Finds a send's task by its message, for a repeat across a restart whose answer was not recorded. */
  taskOfMessage: TaskOfMessage = () => undefined,
): { ref: ActorRef; inFlight(): number; remembered(): number; settled(): Promise<void> } {
  const running = new Set<Promise<void>>();
  const memory = new CallMemory(host.clock);
  const records = new CallRecords(host.store, host.clock, log);
  /** Whether each stream started here still reaches its asking node (a repeated start of a detached one is refused). */
  const links = new Map<string, { attached: boolean }>();
  const track = (p: Promise<void>): void => {
    running.add(p);
    const done = (): void => void running.delete(p);
    p.then(done, done);
  };
  const handler = async (agent: string): Promise<A2ARequestHandler> => {
    const h = await handlerOf(agent);
    if (!h) throw new TroupeError('TROUPE_ERR_A2A_AGENT_NOT_FOUND', `no agent named ${agent.slice(0, 64)} runs on this node`);
    return h;
  };

  /** Run a call; `recorded`: a named call on a node that records them (its task is written as it goes, see {@link RECORDED}). */
  const call = async (m: CallMessage, recorded = false): Promise<CallReply> => {
    try {
      const h = await handler(m.agent);
      const ctx = contextOf(m.caller);
      if (recorded && records.durable) ctx.state.set(RECORDED, true);
      const result = await (h[m.method] as (p: unknown, c: unknown) => Promise<unknown>).call(h, PARAMS[m.method].fromJSON(m.params), ctx);
      return { ok: true, result: RESULTS[m.method].toJSON(result) };
    } catch (e) {
      return { ok: false, error: toWireError(e) };
    }
  };

  // A call that changes something runs once: its repeats (same call id) get its outcome, from
  // this node's memory, or (taken before a restart) from its record in LMDB.
  const once = (m: CallMessage, callId: string): Promise<CallReply> | undefined => {
    const what = `${m.agent}\u0000${m.method}\u0000${scopeKey(m.caller)}`;
    const seen = memory.find(callId, what);
    if (seen) {
      log.debug({ call: callId, method: m.method }, 'A2A call repeated by its asking node; answered from memory');
      return seen.then((o) => replay(m, o, callId, what));
    }
    if (!memory.admit()) return undefined;
    const keepMs = m.retryForMs ?? 0;
    const before = records.get(callId, what);
    if (before) {
      // taken before this node restarted: answered as it was, or from its task; never run again
      log.info({ call: callId, method: m.method, answered: before.reply !== undefined || before.taskRef !== undefined }, 'A2A call repeated across a restart of this node; answered from its record');
      // (not remembered here: a read that fails now, the agent not back yet, is read again next time)
      return fromRecord(m, callId, before);
    }
    const record: CallRecord = { v: 1, what, keepUntil: Math.ceil(host.clock.now()) + keepMs, ...named(m) };
    const reply = (async (): Promise<CallReply> => {
      // committed before it runs: a restart from here on finds it taken
      try {
        await records.begin(callId, record);
      } catch (e) {
        return { ok: false, error: toWireError(e) };
      }
      const r = await call(m, true);
      await records.answer(callId, record, r, taskRefOf(r)).catch((e: unknown) => log.warn({ err: e, call: callId }, 'recording an A2A call\'s answer failed; a repeat gets its task as it is then'));
      return r;
    })();
    // the first asker gets the reply itself; only repeats read it (or the task) again
    memory.remember(callId, what, reply.then((r) => (records.durable && r.ok ? { ok: true as const, recorded: true as const, ...refOf(r) } : outcomeOf(r))), keepMs);
    return reply;
  };
  const taskRefOf = (r: CallReply): string | undefined => {
    if (!r.ok) return undefined;
    const v = r.result as { id?: unknown; task?: { id?: unknown } } | null;
    const id = v?.task?.id ?? (v && 'status' in v ? v.id : undefined);
    return typeof id === 'string' ? id : undefined;
  };
  const refOf = (r: CallReply): { taskRef?: string } => {
    const id = taskRefOf(r);
    return id === undefined ? {} : { taskRef: id };
  };
  // a task is remembered by its id and read again for a repeat (the memory holds no task bodies)
  const outcomeOf = (r: CallReply): Outcome => {
    const id = taskRefOf(r);
    return id === undefined ? r : { ok: true, taskRef: id };
  };
  const replay = async (m: CallMessage, o: Outcome, callId: string, what: string): Promise<CallReply> => {
    if ('recorded' in o) {
      const rec = records.get(callId, what);
      if (rec) return fromRecord(m, callId, rec);
      if (o.taskRef !== undefined) return readTask(m, o.taskRef);
      return { ok: false, error: toWireError(new TroupeError('TROUPE_ERR_A2A_TASK_INTERRUPTED', 'TROUPE_ERR_A2A_TASK_INTERRUPTED: the record of this call is gone; send the message again')) };
    }
    if (!('taskRef' in o)) return o;
    return readTask(m, o.taskRef);
  };
  const readTask = async (m: CallMessage, taskRef: string): Promise<CallReply> => {
    const historyLength = (m.params as { configuration?: { historyLength?: unknown } }).configuration?.historyLength;
    const read = await call({ ...m, method: 'getTask', params: { id: taskRef, ...(typeof historyLength === 'number' ? { historyLength } : {}) } });
    return read.ok ? { ok: true, result: m.method === 'sendMessage' ? { task: read.result } : read.result } : read;
  };
  /**
   * A repeat of a recorded call: its answer as recorded; with none (its node stopped while it
   * ran), the task it produced as it is now (recovery failed it as interrupted), found by the
   * task the call names or by its message id. A push config's create or delete (no task of
   * its own, and idempotent) runs again.
   */
  const fromRecord = async (m: CallMessage, callId: string, rec: CallRecord): Promise<CallReply> => {
    if (rec.reply) return rec.reply;
    if (rec.taskRef !== undefined) return readTask(m, rec.taskRef);
    if (m.method === 'sendMessage' || m.method === 'cancelTask') {
      const id = rec.taskId ?? (rec.messageId === undefined ? undefined : taskOfMessage(m.agent, contextOf(m.caller), rec.messageId));
      if (id !== undefined) return readTask(m, id);
      return { ok: false, error: toWireError(new TroupeError('TROUPE_ERR_A2A_TASK_INTERRUPTED', 'TROUPE_ERR_A2A_TASK_INTERRUPTED: the agent\'s node stopped while this call ran, before its task was saved; it is not run again (send the message again, with a new messageId)')) };
    }
    const r = await call(m, true);
    await records.answer(callId, rec, r, undefined).catch((e: unknown) => log.warn({ err: e, call: callId }, 'recording an A2A call\'s answer failed'));
    return r;
  };

  const stream = async (m: Extract<HomeMessage, { type: 'a2a.home.stream' }>, self: ActorRef, started: (r: CallReply) => void, link: { attached: boolean }): Promise<void> => {
    let seq = 0;
    const send = (msg: StreamMessage): void => {
      if (!link.attached) return;
      try {
        host.tell(m.replyTo, msg, { sender: self });
      } catch (e) {
        // the asking node is gone: the stream is drained here all the same
        link.attached = false;
        log.debug({ err: e, stream: m.streamId }, 'A2A stream detached from its asking node');
      }
    };
    const unwatch = host.watch(m.replyTo, () => {
      link.attached = false;
    });
    try {
      let it: AsyncGenerator<unknown>;
      try {
        const h = await handler(m.agent);
        it = (h[m.method] as (p: unknown, c: unknown) => AsyncGenerator<unknown>).call(h, PARAMS[m.method].fromJSON(m.params), contextOf(m.caller));
      } catch (e) {
        started({ ok: false, error: toWireError(e) });
        return;
      }
      started({ ok: true, result: null });
      try {
        for await (const ev of it) send({ type: 'a2a.home.event', streamId: m.streamId, seq: seq++, event: EVENT.toJSON(ev) as Record<string, unknown> });
        send({ type: 'a2a.home.end', streamId: m.streamId, seq });
      } catch (e) {
        send({ type: 'a2a.home.end', streamId: m.streamId, seq, error: toWireError(e) });
      }
    } finally {
      unwatch();
    }
  };

  const lost = (how: string): CallReply => ({ ok: false, error: toWireError(new TroupeError('TROUPE_ERR_A2A_HOME_UNREACHABLE', `TROUPE_ERR_A2A_HOME_UNREACHABLE: the stream's events were lost ${how}; the task goes on on its node (get or resubscribe to it)`)) });
  const busy = (): CallReply => ({ ok: false, error: toWireError(new TroupeError('TROUPE_ERR_ACTOR_MAILBOX_FULL', 'the node serves too many A2A calls for other nodes; try again')) });

  const ref = host.spawnSpec({
    name: HOME_NAME,
    behaviour: {
      messages: homeMessageSchema,
      signalStarted: false,
      receive: (_s: unknown, m: HomeMessage, ctx: any) => {
        const r = ctx.replier();
        if (running.size >= MAX_IN_FLIGHT) {
          r.reply(busy());
          return;
        }
        // the work runs beside the actor's turns: a blocking send may take minutes
        if (m.type === 'a2a.home.call') {
          const reply = m.callId === undefined ? call(m) : once(m, m.callId);
          if (reply === undefined) r.reply(busy());
          else track(reply.then((v) => r.reply(v)));
          return;
        }
        // a repeated start of a stream (its asker did not hear the first answer) starts nothing more
        const what = `${m.agent}\u0000${m.method}\u0000${m.replyTo}\u0000${scopeKey(m.caller)}`;
        const seen = memory.find(m.streamId, what);
        if (seen) {
          // events told while the asking node was cut off are gone: its stream cannot go on
          const link = links.get(m.streamId);
          if (link?.attached) void seen.then((o) => r.reply(o as CallReply));
          else r.reply(lost('with the peer link'));
          return;
        }
        if (!memory.admit()) {
          r.reply(busy());
          return;
        }
        // started before this node restarted: its events went with it, and it is not started again
        if (records.get(m.streamId, what)) {
          r.reply(lost('with a restart of the agent\'s node'));
          return;
        }
        let started!: (v: CallReply) => void;
        const keepMs = m.retryForMs ?? 0;
        memory.remember(m.streamId, what, new Promise<Outcome>((resolve) => (started = resolve)), keepMs);
        const link = { attached: true };
        if (links.size >= MAX_REMEMBERED_CALLS) links.delete(links.keys().next().value as string);
        links.set(m.streamId, link);
        const answer = (v: CallReply): void => {
          started(v);
          r.reply(v);
        };
        const self = ctx.self as ActorRef;
        track((async () => {
          try {
            await records.begin(m.streamId, { v: 1, what, keepUntil: Math.ceil(host.clock.now()) + keepMs, stream: true });
          } catch (e) {
            answer({ ok: false, error: toWireError(e) });
            return;
          }
          await stream(m, self, answer, link);
        })());
      },
    },
  }, 'system');
  return {
    ref,
    inFlight: () => running.size,
    remembered: () => memory.size,
    settled: async () => {
      await Promise.allSettled([...running]);
    },
  };
}
