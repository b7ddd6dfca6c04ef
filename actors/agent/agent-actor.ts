import type { Logger } from 'pino';
import { Deadlines, TroupeError, serializeError, type A2ACall, type ChatMessage, type Clock, type SerializedError, type ToolSpec } from '../../protocol/index.js';
import type { Behaviour, Context } from '../kernel/index.js';
import type { AgentEvents } from './events.js';
import { emptyMemory, memoryReducer, memoryUsage, type AgentMemory, type MemoryEvent } from './memory.js';
import {
  type AgentStatus, type RequesterMessage, type RunAccepted, type RunMessage, type RunResult,
} from './messages.js';
import { RunAbort, type ModelProvider } from './model/index.js';
import { RunFinished } from './run-finished.js';
import { agentInboxSchema, type AgentInbox } from './agent-inbox.js';
import { Runtime, type Active, type Queued } from './run-table.js';
import { KILLSWITCH_REASON, TIMEOUT_REASON, cancelled, executeRun, type RunPlan } from './run.js';
import type { AgentLimits } from './spec.js';
import { toolSpecOf, type AgentTool, type ToolContext } from './tools.js';

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
  /** Tools of the spec's `<source>:<ref>` names as they are now (MCP tools come and go): read at every run. */
  moreTools?: () => AgentTool[];
  events: AgentEvents;
  clock: Clock;
  /** Journal key; absent on a node without storage (memory lives as long as the actor). */
  journalKey?: string;
  /** Why a new run is refused now (kill switch, budget: see UpstreamGuard), or undefined. */
  refusal?: () => TroupeError | undefined;
  /** Runs a tool's ask to another agent or actor through that target's breaker (see UpstreamGuard). */
  callTarget?: <T>(target: string, fn: () => Promise<T>) => Promise<T>;
}

/** The agent's tools for one run: its fixed ones, then what its tool sources offer now. */
function withMoreTools(deps: AgentDeps): { tools: ReadonlyMap<string, AgentTool>; toolSpecs: ReadonlyArray<ToolSpec> } {
  const more = deps.moreTools?.() ?? [];
  if (more.length === 0) return { tools: deps.tools, toolSpecs: deps.toolSpecs };
  const tools = new Map(deps.tools);
  const toolSpecs = [...deps.toolSpecs];
  for (const t of more) {
    if (tools.has(t.name)) continue;
    tools.set(t.name, t);
    toolSpecs.push(toolSpecOf(t));
  }
  return { tools, toolSpecs };
}

/** Model failures that count towards `maxConsecutiveFailures`: the upstream is unwell. */
const HEALTH_CODES = new Set(['TROUPE_ERR_MODEL_UPSTREAM', 'TROUPE_ERR_MODEL_TIMEOUT']);
const CANCEL_CODES = new Set(['TROUPE_ERR_AGENT_CANCELLED']);

/** Abort reason of a run whose requester can no longer take its deltas. */
const UNDELIVERABLE_REASON = 'the requester could not take the streamed output';


/**
 * The agent actor. Its state is its conversations, folded from journaled `turn.completed`
 * events. A run never blocks the mailbox: `agent.run` queues it, up to
 * `maxConcurrentRuns` execute at once (one per conversation), and each run's outcome comes
 * back through the mailbox as an internal RunFinished (which no other actor can send) and
 * is journaled before the requester gets the result. `agent.cancel` aborts a run and its
 * upstream request. `maxConsecutiveFailures` failed model calls in a row crash the actor
 * (TROUPE_ERR_AGENT_UNHEALTHY), so its supervisor restarts it with backoff, or gives up
 * past its restart intensity.
 */
export function agentBehaviour(deps: AgentDeps): Behaviour<AgentMemory, AgentInbox, MemoryEvent> {
  const { limits, clock, events, name } = deps;
  const apply = memoryReducer(limits);
  const persistent = deps.journalKey !== undefined;
  let rt = new Runtime();
  /** Run timeouts: one timer per 10 ms window, not per run. */
  const deadlines = new Deadlines(clock);

  /**
   * Tell the requester (with the run's correlation id, not that of whichever message the
   * handler is on); false when it could not be told. A result that cannot be delivered
   * becomes an error, so the caller is not left waiting for its own timeout. An error that
   * cannot be delivered either is logged (and dead-lettered by the kernel when the
   * requester's mailbox is full): the requester's own run deadline ends its wait.
   */
  const toRequester = (ctx: Context<AgentInbox>, to: string, msg: RequesterMessage, correlationId?: string): boolean => {
    try {
      ctx.tell(to, msg, correlationId === undefined ? undefined : { correlationId });
      return true;
    } catch (e) {
      if (msg.type === 'agent.result') {
        ctx.log.warn({ err: e, to, runId: msg.runId }, 'could not deliver the result; failing the run');
        const why = serializeError(e);
        toRequester(ctx, to, { type: 'agent.error', runId: msg.runId, error: { ...why, message: `the run finished but its result could not be delivered: ${why.message}` } }, correlationId);
      } else {
        ctx.log.warn({ err: e, to, runId: msg.runId, type: msg.type }, 'could not reach the requester');
      }
      return false;
    }
  };
  const fail = (ctx: Context<AgentInbox>, to: string, runId: string, error: SerializedError | TroupeError, correlationId?: string): void => {
    toRequester(ctx, to, { type: 'agent.error', runId, error: error instanceof TroupeError ? error.toJSON() : error }, correlationId);
  };

  /** Free a run's slot and its conversation; false when the run is no longer this incarnation's. */
  const release = (a: Active): boolean => {
    if (rt.active.get(a.msg.runId) !== a) return false;
    rt.active.delete(a.msg.runId);
    deadlines.cancel(a.timer);
    if (a.msg.conversationId !== undefined) rt.busy.delete(a.msg.conversationId);
    return true;
  };

  /** Journal (or, without storage, just fold) one event; resolves once it is durable. */
  const commit = (state: AgentMemory, event: MemoryEvent, ctx: Context<AgentInbox>): { next: AgentMemory; durable: Promise<void> } => {
    if (!persistent) return { next: apply(state, event), durable: Promise.resolve() };
    const durable = ctx.persist(event);
    // The handler's return value is ignored for persistent actors; the fold is the same.
    return { next: apply(state, event), durable };
  };

  /** What a run's tools see (made on the run's first tool call). */
  const toolContext = (ctx: Context<AgentInbox>, q: Queued, signal: AbortSignal, calls: A2ACall[]): ToolContext => {
    const { msg, correlationId } = q;
    let toolLog: Logger | undefined;
    return {
      agent: name,
      signal,
      callChain: [...(msg.a2a?.callChain ?? []), name],
      ...(msg.a2a?.traceparent !== undefined ? { traceparent: msg.a2a.traceparent } : {}),
      recordCall: (c) => {
        if (calls.length < 256) calls.push(c);
      },
      runId: msg.runId,
      ...(msg.conversationId !== undefined ? { conversationId: msg.conversationId } : {}),
      ...(correlationId !== undefined ? { correlationId } : {}),
      // pino children are not free: made only when a tool logs
      get log() {
        return (toolLog ??= ctx.log.child({ runId: msg.runId, ...(correlationId !== undefined ? { correlationId } : {}) }));
      },
      tell: (target, message) => ctx.tell(target, message),
      ask: (target, message, options) => {
        const call = deps.callTarget;
        if (!call) return ctx.ask(target, message, options);
        return call(target, () => ctx.ask(target, message, options));
      },
    };
  };

  const start = (state: AgentMemory, q: Queued, ctx: Context<AgentInbox>): void => {
    const { msg } = q;
    const messages: ChatMessage[] = deps.instructions ? [{ role: 'system', content: deps.instructions }] : [];
    if (msg.conversationId !== undefined) {
      const history = state.conversations[msg.conversationId]?.messages;
      if (history) for (const m of history) messages.push(m);
    }
    for (const m of msg.input) messages.push(m);
    const controller = new RunAbort();
    const startedAt = clock.now();
    const timer = deadlines.after(limits.timeoutMs, () => controller.abort(TIMEOUT_REASON), startedAt);
    const active: Active = { msg, at: q.at, correlationId: q.correlationId, controller, timer, startedAt };
    rt.active.set(msg.runId, active);
    if (msg.conversationId !== undefined) rt.busy.add(msg.conversationId);
    events.emit({ type: 'agent.run.started', agent: name, runId: msg.runId, queuedMs: startedAt - q.at });

    const self = ctx.self;
    /** The run's A2A calls (delegations), recorded by the `delegate` tool. */
    const calls: A2ACall[] = [];
    const plan: RunPlan = {
      provider: deps.provider,
      model: deps.model,
      messages,
      ...withMoreTools(deps),
      clientTools: msg.clientTools ?? [],
      params: deps.temperature === undefined ? msg.params ?? {} : { temperature: deps.temperature, ...msg.params },
      maxTurns: limits.maxTurns,
      signal: controller,
      toolContext: (signal) => toolContext(ctx, q, signal, calls),
      clock,
    };
    if (msg.toolChoice !== undefined) plan.toolChoice = msg.toolChoice;
    if (limits.maxTokens !== undefined) plan.maxTokens = limits.maxTokens;
    if (msg.stream) {
      plan.onDelta = (delta) => {
        // A stream with a hole in it is worse than an error: stop the run instead.
        if (controller.aborted) return;
        if (!toRequester(ctx, msg.replyTo, { type: 'agent.delta', runId: msg.runId, delta }, q.correlationId)) controller.abort(UNDELIVERABLE_REASON);
      };
    }
    // The outcome comes back as a self-message past the mailbox's capacity, handled in a
    // turn like any other (a later incarnation ignores it: abandon() has told the requester).
    ctx.pipeToSelf(
      executeRun(plan),
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
            ...(msg.a2a !== undefined || calls.length > 0 ? { callChain: [...(msg.a2a?.callChain ?? []), name] } : {}),
            ...(msg.a2a?.traceparent !== undefined ? { traceparent: msg.a2a.traceparent } : {}),
            ...(calls.length > 0 ? { calls } : {}),
          },
        };
        return new RunFinished(active, msg.runId, { ok: true, outcome: { result, messages: [...msg.input, ...p.produced] } });
      },
      (e: unknown) => {
        const err = controller.aborted ? cancelled(controller, e) : e;
        return new RunFinished(active, msg.runId, { ok: false, error: serializeError(err) });
      },
    );
  };

  const pump = (state: AgentMemory, ctx: Context<AgentInbox>): void => {
    while (rt.active.size < limits.maxConcurrentRuns) {
      const i = rt.queue.findIndex((q) => q.msg.conversationId === undefined || !rt.busy.has(q.msg.conversationId));
      if (i < 0) return;
      const [q] = rt.queue.splice(i, 1);
      start(state, q!, ctx);
    }
  };

  /**
   * `agent.run` is asked: the reply is the acceptance, or the reason the run is refused (the
   * requester learns it from the ask, local or remote alike).
   */
  const onRun = (state: AgentMemory, msg: RunMessage, ctx: Context<AgentInbox>): void => {
    if (rt.active.has(msg.runId) || rt.queue.some((q) => q.msg.runId === msg.runId)) {
      ctx.replyError(new TroupeError('TROUPE_ERR_AGENT_RUN_DUPLICATE', `run ${msg.runId} is already known to agent ${name}`));
      return;
    }
    const refused = deps.refusal?.();
    if (refused) {
      ctx.replyError(refused);
      return;
    }
    if (rt.active.size + rt.queue.length >= limits.maxConcurrentRuns + limits.maxQueuedRuns) {
      ctx.replyError(new TroupeError('TROUPE_ERR_AGENT_BUSY', `agent ${name} has ${rt.active.size} runs in flight and ${rt.queue.length} queued`, {
        details: { active: rt.active.size, queued: rt.queue.length },
      }));
      return;
    }
    rt.queue.push({ msg, at: clock.now(), correlationId: ctx.correlationId });
    const accepted: RunAccepted = { type: 'agent.accepted', runId: msg.runId };
    ctx.reply(accepted);
    pump(state, ctx);
  };

  const onCancel = (runId: string, reason: string | undefined, ctx: Context<AgentInbox>): void => {
    const i = rt.queue.findIndex((q) => q.msg.runId === runId);
    if (i >= 0) {
      const [q] = rt.queue.splice(i, 1);
      fail(ctx, q!.msg.replyTo, runId, new TroupeError('TROUPE_ERR_AGENT_CANCELLED', `run cancelled before it started${reason ? `: ${reason}` : ''}`), q!.correlationId);
      return;
    }
    rt.active.get(runId)?.controller.abort(reason ?? 'cancelled by the requester');
  };

  const onFinished = (state: AgentMemory, msg: RunFinished, ctx: Context<AgentInbox>): AgentMemory => {
    const active = rt.active.get(msg.runId);
    // Not this incarnation's run (an earlier one's, whose requester already got an error).
    if (!active || !msg.isFor(active) || !release(active)) return state;
    const conv = active.msg.conversationId;
    const durationMs = clock.now() - active.startedAt;
    const replyTo = active.msg.replyTo;
    const cid = active.correlationId;

    const settled = msg.settlement;
    if (settled.ok) {
      rt.failures = 0;
      const { result, messages } = settled.outcome;
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

    const code = settled.error.code;
    const outcome = CANCEL_CODES.has(code) ? 'cancelled' : 'error';
    events.emit({ type: 'agent.run.finished', agent: name, runId: msg.runId, outcome, code, durationMs });
    fail(ctx, replyTo, msg.runId, settled.error, cid);
    if (code === 'TROUPE_ERR_MODEL_AUTH') {
      // Refused credentials: a restart would be refused again. The supervisor stops the agent.
      throw new TroupeError('TROUPE_ERR_MODEL_AUTH', settled.error.message, { details: { agent: name, ...settled.error.details } });
    }
    if (HEALTH_CODES.has(code)) {
      rt.failures += 1;
      events.emit({ type: 'agent.model.failed', agent: name, code, consecutive: rt.failures });
      if (rt.failures >= limits.maxConsecutiveFailures) {
        events.emit({ type: 'agent.unhealthy', agent: name, consecutive: rt.failures });
        // Crash: the supervisor decides (restart with backoff, or give up past its intensity).
        throw new TroupeError('TROUPE_ERR_AGENT_UNHEALTHY', `agent ${name}: ${rt.failures} consecutive model failures (last: ${code}: ${settled.error.message})`, {
          details: { consecutive: rt.failures, last: code },
        });
      }
    }
    pump(state, ctx);
    return state;
  };

  /** The incarnation ends: abort its runs and tell their requesters. */
  const abandon = (ctx: Context<AgentInbox>, error: TroupeError): void => {
    const old = rt;
    rt = new Runtime();
    for (const a of old.active.values()) {
      deadlines.cancel(a.timer);
      a.controller.abort(error.message);
      fail(ctx, a.msg.replyTo, a.msg.runId, error, a.correlationId);
      events.emit({ type: 'agent.run.finished', agent: name, runId: a.msg.runId, outcome: 'error', code: error.code, durationMs: clock.now() - a.startedAt });
    }
    for (const q of old.queue) fail(ctx, q.msg.replyTo, q.msg.runId, error, q.correlationId);
  };

  return {
    messages: agentInboxSchema,
    initial: () => {
      rt = new Runtime();
      return emptyMemory();
    },
    ...(persistent ? { persistence: { key: deps.journalKey!, apply, snapshotEvery: 100 } } : {}),
    receive: (state, msg, ctx) => {
      if (msg instanceof RunFinished) return onFinished(state, msg, ctx);
      switch (msg.type) {
        case 'agent.run':
          onRun(state, msg, ctx);
          return;
        case 'agent.cancel':
          onCancel(msg.runId, msg.reason, ctx);
          return;
        case 'agent.halt': {
          // the kill switch: runs in tool calls too, not only those waiting on the model
          for (const a of rt.active.values()) a.controller.abort(KILLSWITCH_REASON);
          const queued = rt.queue.splice(0);
          for (const q of queued) fail(ctx, q.msg.replyTo, q.msg.runId, new TroupeError('TROUPE_ERR_KILLSWITCH_ENGAGED', `the kill switch cancelled the run before it started: ${msg.reason}`), q.correlationId);
          return;
        }
        case 'agent.status': {
          const usage = memoryUsage(state);
          const s: AgentStatus = {
            name,
            activeRuns: rt.active.size,
            queuedRuns: rt.queue.length,
            conversations: usage.conversations,
            consecutiveFailures: rt.failures,
            memoryBytes: usage.bytes,
            memoryTokens: usage.tokens,
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
