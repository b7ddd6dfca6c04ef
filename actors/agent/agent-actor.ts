import type { Logger } from 'pino';
import { TroupeError, serializeError, type Clock, type SerializedError } from '../../protocol/index.js';
import type { ChatMessage, ToolSpec } from '../../protocol/openai.js';
import type { Behaviour, Context } from '../kernel/behaviour.js';
import type { AgentEvents } from './events.js';
import { emptyMemory, memoryReducer, type AgentMemory, type MemoryEvent } from './memory.js';
import {
  agentMessageSchema, type AgentMessage, type AgentStatus, type RequesterMessage, type RunMessage, type RunResult,
} from './messages.js';
import type { ModelProvider } from './model/index.js';
import { TIMEOUT_REASON, cancelled, executeRun } from './run.js';
import type { AgentLimits } from './spec.js';
import type { AgentTool } from './tools.js';

/** Everything an agent actor is built from; fixed for the agent's lifetime. */
export interface AgentDeps {
  name: string;
  instructions: string;
  temperature?: number;
  limits: AgentLimits;
  provider: ModelProvider;
  /** Upstream model id sent to the provider. */
  model: string;
  tools: ReadonlyMap<string, AgentTool>;
  toolSpecs: ReadonlyArray<ToolSpec>;
  events: AgentEvents;
  clock: Clock;
  /** Journal key; absent on a node without storage (memory lives as long as the actor). */
  journalKey?: string;
}

/** Model failures that count towards `maxConsecutiveFailures`: the upstream is unwell. */
const HEALTH_CODES = new Set(['TROUPE_ERR_MODEL_UPSTREAM', 'TROUPE_ERR_MODEL_TIMEOUT']);
const CANCEL_CODES = new Set(['TROUPE_ERR_AGENT_CANCELLED']);

interface Queued {
  msg: RunMessage;
  at: number;
  correlationId: string | undefined;
}

interface Active extends Queued {
  controller: AbortController;
  timer: unknown;
  startedAt: number;
}

/** What one incarnation keeps outside its persisted state: runs in flight and health. */
class Runtime {
  readonly active = new Map<string, Active>();
  readonly queue: Queued[] = [];
  /** Conversations with a run in flight: runs of one conversation go one at a time. */
  readonly busy = new Set<string>();
  failures = 0;
}

/**
 * The agent actor. Its state is its conversations, folded from journaled `turn.completed`
 * events. A run never blocks the mailbox: `agent.run` queues it, up to
 * `maxConcurrentRuns` execute at once (one per conversation), and each run's outcome comes
 * back as an `agent.run-finished` message that is journaled before the requester gets the
 * result. `agent.cancel` aborts a run and its upstream request. `maxConsecutiveFailures`
 * failed model calls in a row crash the actor (TROUPE_ERR_AGENT_UNHEALTHY), so its
 * supervisor restarts it with backoff, or gives up past its restart intensity.
 */
export function agentBehaviour(deps: AgentDeps): Behaviour<AgentMemory, AgentMessage, MemoryEvent> {
  const { limits, clock, events, name } = deps;
  const apply = memoryReducer(limits);
  const persistent = deps.journalKey !== undefined;
  let rt = new Runtime();

  // The correlation id is the run's, not that of whichever message the handler is on.
  const toRequester = (ctx: Context<AgentMessage>, to: string, msg: RequesterMessage, correlationId?: string): void => {
    try {
      ctx.tell(to, msg, correlationId === undefined ? undefined : { correlationId });
    } catch (e) {
      ctx.log.warn({ err: e, to, runId: msg.runId }, 'could not reach the requester');
    }
  };
  const fail = (ctx: Context<AgentMessage>, to: string, runId: string, error: SerializedError | TroupeError, correlationId?: string): void => {
    toRequester(ctx, to, { type: 'agent.error', runId, error: error instanceof TroupeError ? error.toJSON() : error }, correlationId);
  };

  /** Journal (or, without storage, just fold) one event; resolves once it is durable. */
  const commit = (state: AgentMemory, event: MemoryEvent, ctx: Context<AgentMessage>): { next: AgentMemory; durable: Promise<void> } => {
    if (!persistent) return { next: apply(state, event), durable: Promise.resolve() };
    const durable = ctx.persist(event);
    // The handler's return value is ignored for persistent actors; the fold is the same.
    return { next: apply(state, event), durable };
  };

  const start = (state: AgentMemory, q: Queued, ctx: Context<AgentMessage>): void => {
    const { msg } = q;
    const history = msg.conversationId === undefined ? [] : state.conversations[msg.conversationId]?.messages ?? [];
    const messages: ChatMessage[] = [
      ...(deps.instructions ? [{ role: 'system' as const, content: deps.instructions }] : []),
      ...history,
      ...msg.input,
    ];
    const controller = new AbortController();
    const startedAt = clock.now();
    const timer = clock.setTimeout(() => controller.abort(TIMEOUT_REASON), limits.timeoutMs);
    const active: Active = { ...q, controller, timer, startedAt };
    rt.active.set(msg.runId, active);
    if (msg.conversationId !== undefined) rt.busy.add(msg.conversationId);
    events.emit({ type: 'agent.run.started', agent: name, runId: msg.runId, queuedMs: startedAt - q.at });

    const self = ctx.self;
    const finish = (m: AgentMessage, attempt = 0): void => {
      try {
        ctx.tell(self, m, q.correlationId === undefined ? undefined : { correlationId: q.correlationId });
      } catch (e) {
        // A full mailbox: the outcome must still land, or the conversation stays busy.
        if (attempt < 100 && !(e instanceof TroupeError && e.code === 'TROUPE_ERR_ACTOR_INVALID_MESSAGE')) {
          setTimeout(() => finish(m, attempt + 1), 10 * (attempt + 1)).unref();
          return;
        }
        ctx.log.error({ err: e, runId: msg.runId }, 'run outcome lost');
        fail(ctx, msg.replyTo, msg.runId, serializeError(e), q.correlationId);
      }
    };
    let toolLog: Logger | undefined;
    const params = { ...(deps.temperature !== undefined ? { temperature: deps.temperature } : {}), ...msg.params };
    executeRun({
      provider: deps.provider,
      model: deps.model,
      messages,
      tools: deps.tools,
      toolSpecs: deps.toolSpecs,
      clientTools: msg.clientTools ?? [],
      ...(msg.toolChoice !== undefined ? { toolChoice: msg.toolChoice } : {}),
      params,
      maxTurns: limits.maxTurns,
      ...(limits.maxTokens !== undefined ? { maxTokens: limits.maxTokens } : {}),
      signal: controller.signal,
      ...(msg.stream ? { onDelta: (delta) => toRequester(ctx, msg.replyTo, { type: 'agent.delta', runId: msg.runId, delta }, q.correlationId) } : {}),
      toolContext: {
        agent: name,
        runId: msg.runId,
        ...(msg.conversationId !== undefined ? { conversationId: msg.conversationId } : {}),
        ...(q.correlationId !== undefined ? { correlationId: q.correlationId } : {}),
        // pino children are not free: made only when a tool logs
        get log() {
          return (toolLog ??= ctx.log.child({ runId: msg.runId, ...(q.correlationId !== undefined ? { correlationId: q.correlationId } : {}) }));
        },
        tell: (target, message) => ctx.tell(target, message),
        ask: (target, message, options) => ctx.ask(target, message, options),
      },
      clock,
    }).then(
      (p) => {
        const result: RunResult = {
          runId: msg.runId,
          agent: name,
          ...(msg.conversationId !== undefined ? { conversationId: msg.conversationId } : {}),
          content: p.content,
          toolCalls: p.toolCalls,
          finishReason: p.finishReason,
          usage: p.usage,
          model: p.model,
          turns: p.turns,
          trace: {
            ...(q.correlationId !== undefined ? { correlationId: q.correlationId } : {}),
            chain: [{ kind: 'agent', actor: self.address, node: self.node, name, startedAt, durationMs: clock.now() - startedAt, ok: true }, ...p.hops],
          },
        };
        finish({ type: 'agent.run-finished', runId: msg.runId, ok: true, outcome: { result, messages: [...msg.input, ...p.produced] } });
      },
      (e: unknown) => {
        const err = controller.signal.aborted ? cancelled(controller.signal, e) : e;
        finish({ type: 'agent.run-finished', runId: msg.runId, ok: false, error: serializeError(err) });
      },
    );
  };

  const pump = (state: AgentMemory, ctx: Context<AgentMessage>): void => {
    while (rt.active.size < limits.maxConcurrentRuns) {
      const i = rt.queue.findIndex((q) => q.msg.conversationId === undefined || !rt.busy.has(q.msg.conversationId));
      if (i < 0) return;
      const [q] = rt.queue.splice(i, 1);
      start(state, q!, ctx);
    }
  };

  const onRun = (state: AgentMemory, msg: RunMessage, ctx: Context<AgentMessage>): void => {
    const refuse = (e: TroupeError): void => {
      if (ctx.expectsReply) ctx.replyError(e);
      else fail(ctx, msg.replyTo, msg.runId, e);
    };
    if (rt.active.has(msg.runId) || rt.queue.some((q) => q.msg.runId === msg.runId)) {
      refuse(new TroupeError('TROUPE_ERR_ACTOR_INVALID_MESSAGE', `run ${msg.runId} is already known to agent ${name}`));
      return;
    }
    if (rt.active.size + rt.queue.length >= limits.maxConcurrentRuns + limits.maxQueuedRuns) {
      refuse(new TroupeError('TROUPE_ERR_AGENT_BUSY', `agent ${name} has ${rt.active.size} runs in flight and ${rt.queue.length} queued`, {
        details: { active: rt.active.size, queued: rt.queue.length },
      }));
      return;
    }
    rt.queue.push({ msg, at: clock.now(), correlationId: ctx.correlationId });
    if (ctx.expectsReply) ctx.reply({ accepted: true, runId: msg.runId });
    pump(state, ctx);
  };

  const onCancel = (runId: string, reason: string | undefined, ctx: Context<AgentMessage>): void => {
    const i = rt.queue.findIndex((q) => q.msg.runId === runId);
    if (i >= 0) {
      const [q] = rt.queue.splice(i, 1);
      fail(ctx, q!.msg.replyTo, runId, new TroupeError('TROUPE_ERR_AGENT_CANCELLED', `run cancelled before it started${reason ? `: ${reason}` : ''}`), q!.correlationId);
      return;
    }
    rt.active.get(runId)?.controller.abort(reason ?? 'cancelled by the requester');
  };

  const onFinished = (state: AgentMemory, msg: Extract<AgentMessage, { type: 'agent.run-finished' }>, ctx: Context<AgentMessage>): AgentMemory => {
    const active = rt.active.get(msg.runId);
    // Unknown: a run of an earlier incarnation, whose requester already got an error.
    if (!active) return state;
    rt.active.delete(msg.runId);
    clock.clearTimeout(active.timer);
    const conv = active.msg.conversationId;
    if (conv !== undefined) rt.busy.delete(conv);
    const durationMs = clock.now() - active.startedAt;
    const replyTo = active.msg.replyTo;
    const cid = active.correlationId;

    if (msg.ok) {
      rt.failures = 0;
      const { result, messages } = msg.outcome;
      events.emit({ type: 'agent.run.finished', agent: name, runId: msg.runId, outcome: 'ok', durationMs, turns: result.turns, usage: result.usage });
      let next = state;
      if (conv !== undefined) {
        const c = commit(state, { type: 'turn.completed', conversationId: conv, runId: msg.runId, messages, usage: result.usage, at: clock.now() }, ctx);
        next = c.next;
        // The requester hears of the turn only once it is durable.
        c.durable.then(
          () => toRequester(ctx, replyTo, { type: 'agent.result', runId: msg.runId, result }, cid),
          (e: unknown) => fail(ctx, replyTo, msg.runId, serializeError(e), cid),
        );
      } else {
        toRequester(ctx, replyTo, { type: 'agent.result', runId: msg.runId, result }, cid);
      }
      pump(next, ctx);
      return next;
    }

    const code = msg.error.code;
    const outcome = CANCEL_CODES.has(code) ? 'cancelled' : 'error';
    events.emit({ type: 'agent.run.finished', agent: name, runId: msg.runId, outcome, code, durationMs });
    fail(ctx, replyTo, msg.runId, msg.error, cid);
    if (HEALTH_CODES.has(code)) {
      rt.failures += 1;
      events.emit({ type: 'agent.model.failed', agent: name, code, consecutive: rt.failures });
      if (rt.failures >= limits.maxConsecutiveFailures) {
        events.emit({ type: 'agent.unhealthy', agent: name, consecutive: rt.failures });
        // Crash: the supervisor decides (restart with backoff, or give up past its intensity).
        throw new TroupeError('TROUPE_ERR_AGENT_UNHEALTHY', `agent ${name}: ${rt.failures} consecutive model failures (last: ${code}: ${msg.error.message})`, {
          details: { consecutive: rt.failures, last: code },
        });
      }
    }
    pump(state, ctx);
    return state;
  };

  /** The incarnation ends: abort its runs and tell their requesters. */
  const abandon = (ctx: Context<AgentMessage>, error: TroupeError): void => {
    const old = rt;
    rt = new Runtime();
    for (const a of old.active.values()) {
      clock.clearTimeout(a.timer);
      a.controller.abort(error.message);
      fail(ctx, a.msg.replyTo, a.msg.runId, error, a.correlationId);
      events.emit({ type: 'agent.run.finished', agent: name, runId: a.msg.runId, outcome: 'error', code: error.code, durationMs: clock.now() - a.startedAt });
    }
    for (const q of old.queue) fail(ctx, q.msg.replyTo, q.msg.runId, error, q.correlationId);
  };

  return {
    messages: agentMessageSchema,
    initial: () => {
      rt = new Runtime();
      return emptyMemory();
    },
    ...(persistent ? { persistence: { key: deps.journalKey!, apply, snapshotEvery: 100 } } : {}),
    receive: (state, msg, ctx) => {
      switch (msg.type) {
        case 'agent.run':
          onRun(state, msg, ctx);
          return;
        case 'agent.cancel':
          onCancel(msg.runId, msg.reason, ctx);
          return;
        case 'agent.run-finished':
          return onFinished(state, msg, ctx);
        case 'agent.status': {
          const s: AgentStatus = {
            name,
            activeRuns: rt.active.size,
            queuedRuns: rt.queue.length,
            conversations: Object.keys(state.conversations).length,
            consecutiveFailures: rt.failures,
          };
          ctx.reply(s);
          return;
        }
        case 'agent.conversation': {
          const c = state.conversations[msg.conversationId];
          ctx.reply(c ? { conversationId: msg.conversationId, turns: c.turns, updatedAt: c.updatedAt, messages: c.messages } : null);
          return;
        }
        case 'agent.forget': {
          if (!(msg.conversationId in state.conversations)) {
            ctx.reply(false);
            return;
          }
          if (rt.busy.has(msg.conversationId)) {
            ctx.replyError(new TroupeError('TROUPE_ERR_AGENT_BUSY', `conversation ${msg.conversationId} has a run in flight`));
            return;
          }
          const { next, durable } = commit(state, { type: 'conversation.forgotten', conversationId: msg.conversationId, at: clock.now() }, ctx);
          const r = ctx.replier();
          durable.then(() => r.reply(true), (e: unknown) => r.error(e));
          return next;
        }
      }
    },
    signal: (_state, sig, ctx) => {
      if (sig.type === 'signal.restarting') {
        abandon(ctx, new TroupeError('TROUPE_ERR_ACTOR_FAILED', `agent ${name} crashed and is restarting; the run was abandoned`));
      } else if (sig.type === 'signal.stopping') {
        abandon(ctx, new TroupeError('TROUPE_ERR_ACTOR_STOPPED', `agent ${name} stopped; the run was abandoned`));
      }
    },
  };
}
