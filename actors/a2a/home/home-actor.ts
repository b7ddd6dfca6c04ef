import type { A2ARequestHandler } from '@a2a-js/sdk/server';
import type { Logger } from 'pino';
import { TroupeError } from '../../../protocol/index.js';
import type { ActorRef } from '../../kernel/index.js';
import type { ModuleHost } from '../../modules/index.js';
import {
  EVENT, HOME_NAME, PARAMS, RESULTS, contextOf, homeMessageSchema, toWireError, type CallReply, type HomeMessage, type StreamMessage,
} from './wire.js';

/** Calls and streams served at once for other nodes; past it a call is refused (its caller retries). */
const MAX_IN_FLIGHT = 10_000;

/**
 * The home of the A2A tasks of this node's agents (`/system/a2a-tasks`): another node that
 * took an A2A request for one of them forwards the request handler's call here, so the
 * task actor, its journal and its listing live where the agent lives. A unary call is
 * answered with its result; a stream is started and its events are told back one by one,
 * numbered, to the asking node's streams actor, then its end. The stream is always drained
 * here, whatever becomes of the asking node (the SDK applies a task's events only in the loop
 * that reads them), so the task stays truthful when the link drops.
 *
 * @example
 * startHome(host, async (agent) => (await a2a.endpoint(agent))?.handler, log);
 * // another node: host.ask('troupe://n2/system/a2a-tasks', { type: 'a2a.home.call', agent: 'far', method: 'getTask', params, caller })
 */
export function startHome(
  host: Pick<ModuleHost, 'spawnSpec' | 'tell' | 'watch'>,
  /** The endpoint of an agent running on this node (none for an agent of another node). */
  handlerOf: (agent: string) => Promise<A2ARequestHandler | undefined>,
  log: Logger,
): { ref: ActorRef; inFlight(): number; settled(): Promise<void> } {
  const running = new Set<Promise<void>>();
  const track = (p: Promise<void>): void => {
    running.add(p);
    void p.finally(() => running.delete(p));
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

  const stream = async (m: Extract<HomeMessage, { type: 'a2a.home.stream' }>, self: ActorRef, started: (r: CallReply) => void): Promise<void> => {
    let attached = true;
    let seq = 0;
    const send = (msg: StreamMessage): void => {
      if (!attached) return;
      try {
        host.tell(m.replyTo, msg, { sender: self });
      } catch (e) {
        // the asking node is gone: the stream is drained here all the same
        attached = false;
        log.debug({ err: e, stream: m.streamId }, 'A2A stream detached from its asking node');
      }
    };
    const unwatch = host.watch(m.replyTo, () => {
      attached = false;
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

  const ref = host.spawnSpec({
    name: HOME_NAME,
    behaviour: {
      messages: homeMessageSchema,
      signalStarted: false,
      receive: (_s: unknown, m: HomeMessage, ctx: any) => {
        const r = ctx.replier();
        if (running.size >= MAX_IN_FLIGHT) {
          r.reply({ ok: false, error: toWireError(new TroupeError('TROUPE_ERR_ACTOR_MAILBOX_FULL', 'the node serves too many A2A calls for other nodes; try again')) } satisfies CallReply);
          return;
        }
        // the work runs beside the actor's turns: a blocking send may take minutes
        if (m.type === 'a2a.home.call') track(call(m).then((v) => r.reply(v)));
        else track(stream(m, ctx.self, (v) => r.reply(v)));
      },
    },
  }, 'system');
  return {
    ref,
    inFlight: () => running.size,
    settled: async () => {
      await Promise.allSettled([...running]);
    },
  };
}
