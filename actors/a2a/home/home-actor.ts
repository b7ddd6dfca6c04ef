import type { A2ARequestHandler } from '@a2a-js/sdk/server';
import type { Logger } from 'pino';
import { TroupeError } from '../../../protocol/index.js';
import type { ActorRef } from '../../kernel/index.js';
import type { ModuleHost } from '../../modules/index.js';
import { CallMemory, MAX_REMEMBERED_CALLS, type Outcome } from './call-memory.js';
import {
  EVENT, HOME_NAME, PARAMS, RESULTS, contextOf, homeMessageSchema, toWireError, type CallReply, type Caller, type HomeMessage, type StreamMessage,
} from './wire.js';

/** A call's scope as its memory key sees it: a repeat is answered only to the same caller. */
const scopeKey = (c: Caller): string => `${c.user.authenticated ? 'a' : 'u'}:${c.user.name}\u0000${c.tenant ?? ''}`;

/** Calls and streams served at once for other nodes; past it a call is refused (its caller retries). */
const MAX_IN_FLIGHT = 10_000;

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
  host: Pick<ModuleHost, 'spawnSpec' | 'tell' | 'watch' | 'clock'>,
  /** The endpoint of an agent running on this node (none for an agent of another node). */
  handlerOf: (agent: string) => Promise<A2ARequestHandler | undefined>,
  log: Logger,
): { ref: ActorRef; inFlight(): number; remembered(): number; settled(): Promise<void> } {
  const running = new Set<Promise<void>>();
  const memory = new CallMemory(host.clock);
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

  const call = async (m: Extract<HomeMessage, { type: 'a2a.home.call' }>): Promise<CallReply> => {
    try {
      const h = await handler(m.agent);
      const result = await (h[m.method] as (p: unknown, c: unknown) => Promise<unknown>).call(h, PARAMS[m.method].fromJSON(m.params), contextOf(m.caller));
      return { ok: true, result: RESULTS[m.method].toJSON(result) };
    } catch (e) {
      return { ok: false, error: toWireError(e) };
    }
  };

  // A call that changes something runs once: its repeats (same call id) get its outcome.
  const once = (m: Extract<HomeMessage, { type: 'a2a.home.call' }>, callId: string): Promise<CallReply> | undefined => {
    const what = `${m.agent}\u0000${m.method}\u0000${scopeKey(m.caller)}`;
    const seen = memory.find(callId, what);
    if (seen) {
      log.debug({ call: callId, method: m.method }, 'A2A call repeated by its asking node; answered from memory');
      return seen.then((o) => replay(m, o));
    }
    if (!memory.admit()) return undefined;
    // the first asker gets the reply itself; only repeats read the task again
    const reply = call(m);
    memory.remember(callId, what, reply.then(outcomeOf), m.retryForMs ?? 0);
    return reply;
  };
  // a task is remembered by its id and read again for a repeat (the memory holds no task bodies)
  const outcomeOf = (r: CallReply): Outcome => {
    if (!r.ok) return r;
    const v = r.result as { id?: unknown; task?: { id?: unknown } } | null;
    const id = v?.task?.id ?? (v && 'status' in v ? v.id : undefined);
    return typeof id === 'string' ? { ok: true, taskRef: id } : r;
  };
  const replay = async (m: Extract<HomeMessage, { type: 'a2a.home.call' }>, o: Outcome): Promise<CallReply> => {
    if (!('taskRef' in o)) return o;
    const historyLength = (m.params as { configuration?: { historyLength?: unknown } }).configuration?.historyLength;
    const read = await call({ ...m, method: 'getTask', params: { id: o.taskRef, ...(typeof historyLength === 'number' ? { historyLength } : {}) } });
    return read.ok ? { ok: true, result: m.method === 'sendMessage' ? { task: read.result } : read.result } : read;
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
          else r.reply({ ok: false, error: toWireError(new TroupeError('TROUPE_ERR_A2A_HOME_UNREACHABLE', 'TROUPE_ERR_A2A_HOME_UNREACHABLE: the stream\'s events were lost with the peer link; the task goes on on its node (get or resubscribe to it)')) });
          return;
        }
        if (!memory.admit()) {
          r.reply(busy());
          return;
        }
        let started!: (v: CallReply) => void;
        memory.remember(m.streamId, what, new Promise<Outcome>((resolve) => (started = resolve)), m.retryForMs ?? 0);
        const link = { attached: true };
        if (links.size >= MAX_REMEMBERED_CALLS) links.delete(links.keys().next().value as string);
        links.set(m.streamId, link);
        track(stream(m, ctx.self, (v) => {
          started(v);
          r.reply(v);
        }, link));
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
