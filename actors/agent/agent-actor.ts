import { TroupeError, serializeError, type A2ACall, type ChatMessage, type SerializedError } from '../../protocol/index.js';
import type { Behaviour, Context } from '../kernel/index.js';
import { emptyMemory, memoryUsage, type AgentMemory, type MemoryEvent } from './memory.js';
import {
  agentMessageSchema, type AgentStatus, type RequesterMessage, type RunAccepted, type RunMessage, type RunResult,
} from './messages.js';
import { RunAbort } from './model/index.js';
import { RunFinished } from './run-finished.js';
import { AgentDeltaMessage, AgentErrorMessage, AgentResultMessage } from './requester-messages.js';
import type { AgentInbox } from './agent-inbox.js';
import { Runtime, type Active, type Queued } from './run-table.js';
import { QUEUE_TIMER, QueueTick } from './queue-tick.js';
import type { Waiting } from './run-queue.js';
import { KILLSWITCH_REASON, TIMEOUT_REASON, cancelled, executeRun, type RunPlan } from './run.js';
import { runToolContext, withMoreTools } from './run-tools.js';
import { deadlinesOf, reducerOf, type AgentDeps } from './agent-deps.js';

export type { AgentDeps } from './agent-deps.js';

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
  const apply = reducerOf(limits);
  const persistent = deps.journalKey !== undefined;
  let rt = new Runtime();
  /** Run timeouts: one timer per 10 ms window, not per run (shared by the node's agents). */
  const deadlines = deadlinesOf(clock);

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
        toRequester(ctx, to, new AgentErrorMessage(msg.runId, { ...why, message: `the run finished but its result could not be delivered: ${why.message}` }), correlationId);
      } else {
        ctx.log.warn({ err: e, to, runId: msg.runId, type: msg.type }, 'could not reach the requester');
      }
      return false;
    }
  };
  const fail = (ctx: Context<AgentInbox>, to: string, runId: string, error: SerializedError | TroupeError, correlationId?: string): void => {
    toRequester(ctx, to, new AgentErrorMessage(runId, error instanceof TroupeError ? error.toJSON() : error), correlationId);
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
      toolContext: (signal) => runToolContext(deps, ctx, q, signal, calls),
      clock,
    };
    if (msg.toolChoice !== undefined) plan.toolChoice = msg.toolChoice;
    if (limits.maxTokens !== undefined) plan.maxTokens = limits.maxTokens;
    if (msg.stream) {
      plan.onDelta = (delta) => {
        // A stream with a hole in it is worse than an error: stop the run instead.
        if (controller.aborted) return;
        if (!toRequester(ctx, msg.replyTo, new AgentDeltaMessage(msg.runId, delta), q.correlationId)) controller.abort(UNDELIVERABLE_REASON);
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

  const startable = (w: Waiting): boolean => w.msg.conversationId === undefined || !rt.busy.has(w.msg.conversationId);
  const pump = (state: AgentMemory, ctx: Context<AgentInbox>): void => {
    while (rt.active.size < limits.maxConcurrentRuns) {
      const w = rt.queue.take(startable);
      if (w === undefined) return;
      start(state, w, ctx);
    }
  };

  /** What a refused caller is told to wait: about the time the runs ahead of it take. */
  const retryAfterMs = (): number =>
    Math.min(60_000, Math.max(1_000, Math.ceil((rt.avgRunMs ?? 1_000) * (1 + rt.queue.size / limits.maxConcurrentRuns))));
  const queueTimeout = (deadlineMs: number): TroupeError => new TroupeError('TROUPE_ERR_AGENT_QUEUE_TIMEOUT',
    `agent ${name} could not start the run within its queue deadline of ${deadlineMs}ms: all ${limits.maxConcurrentRuns} run slots stayed busy`,
    { details: { queueDeadlineMs: deadlineMs, active: rt.active.size, queued: rt.queue.size, retryAfterMs: retryAfterMs() } });

  /** One kernel timer for the whole queue, set to its earliest deadline. */
  const armQueueTimer = (ctx: Context<AgentInbox>, at: number | undefined): void => {
    if (at === rt.queueTimerAt) return;
    rt.queueTimerAt = at;
    if (at === undefined) ctx.timers.cancel(QUEUE_TIMER);
    else ctx.timers.startSingle(QUEUE_TIMER, Math.max(0, at - clock.now()), new QueueTick());
  };
  const onQueueTick = (ctx: Context<AgentInbox>): void => {
    rt.queueTimerAt = undefined;
    for (const w of rt.queue.expire(clock.now())) {
      events.emit({ type: 'agent.run.refused', agent: name, code: 'TROUPE_ERR_AGENT_QUEUE_TIMEOUT' });
      fail(ctx, w.msg.replyTo, w.msg.runId, queueTimeout(w.deadline - w.at), w.correlationId);
    }
    armQueueTimer(ctx, rt.queue.earliestDeadline());
  };

  /**
   * `agent.run` is asked: the reply is the acceptance, or the reason the run is refused (the
   * requester learns it from the ask, local or remote alike).
   */
  const onRun = (state: AgentMemory, msg: RunMessage, ctx: Context<AgentInbox>): void => {
    if (rt.active.has(msg.runId) || rt.queue.has(msg.runId)) {
      ctx.replyError(new TroupeError('TROUPE_ERR_AGENT_RUN_DUPLICATE', `run ${msg.runId} is already known to agent ${name}`));
      return;
    }
    const refused = deps.refusal?.();
    if (refused) {
      ctx.replyError(refused);
      return;
    }
    if (rt.active.size + rt.queue.size >= limits.maxConcurrentRuns + limits.maxQueuedRuns) {
      events.emit({ type: 'agent.run.refused', agent: name, code: 'TROUPE_ERR_AGENT_BUSY' });
      ctx.replyError(new TroupeError('TROUPE_ERR_AGENT_BUSY', `agent ${name} has ${rt.active.size} runs in flight and ${rt.queue.size} queued`, {
        details: { active: rt.active.size, queued: rt.queue.size, retryAfterMs: retryAfterMs() },
      }));
      return;
    }
    const caller = msg.caller ?? '';
    const share = limits.maxQueuedRunsPerCaller;
    if (share !== undefined && rt.active.size >= limits.maxConcurrentRuns && rt.queue.waitingOf(caller) >= share) {
      events.emit({ type: 'agent.run.refused', agent: name, code: 'TROUPE_ERR_AGENT_QUEUE_SHARE_EXCEEDED' });
      ctx.replyError(new TroupeError('TROUPE_ERR_AGENT_QUEUE_SHARE_EXCEEDED', `this caller already has ${share} runs waiting for agent ${name} (limits.maxQueuedRunsPerCaller)`, {
        details: { maxQueuedRunsPerCaller: share, retryAfterMs: retryAfterMs() },
      }));
      return;
    }
    const at = clock.now();
    const deadlineMs = msg.queueDeadlineMs ?? limits.queueDeadlineMs;
    const w: Waiting = { msg, at, correlationId: ctx.correlationId, caller, deadline: at + deadlineMs };
    rt.queue.push(w);
    pump(state, ctx);
    if (rt.queue.has(msg.runId)) {
      // No slot now, and the caller would not wait: refused at once, not after a timer.
      if (deadlineMs === 0) {
        rt.queue.remove(msg.runId);
        events.emit({ type: 'agent.run.refused', agent: name, code: 'TROUPE_ERR_AGENT_QUEUE_TIMEOUT' });
        ctx.replyError(queueTimeout(0));
        return;
      }
      if (rt.queueTimerAt === undefined || w.deadline < rt.queueTimerAt) armQueueTimer(ctx, w.deadline);
    }
    const accepted: RunAccepted = { type: 'agent.accepted', runId: msg.runId };
    ctx.reply(accepted);
  };

  const onCancel = (runId: string, reason: string | undefined, ctx: Context<AgentInbox>): void => {
    const q = rt.queue.remove(runId);
    if (q !== undefined) {
      fail(ctx, q.msg.replyTo, runId, new TroupeError('TROUPE_ERR_AGENT_CANCELLED', `run cancelled before it started${reason ? `: ${reason}` : ''}`), q.correlationId);
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
    rt.avgRunMs = rt.avgRunMs === undefined ? durationMs : 0.8 * rt.avgRunMs + 0.2 * durationMs;
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
          () => toRequester(ctx, replyTo, new AgentResultMessage(msg.runId, result), cid),
          (e: unknown) => fail(ctx, replyTo, msg.runId, serializeError(e), cid),
        );
      } else {
        toRequester(ctx, replyTo, new AgentResultMessage(msg.runId, result), cid);
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
    if (deps.activity !== undefined) deps.activity.runs = rt;
    for (const a of old.active.values()) {
      deadlines.cancel(a.timer);
      a.controller.abort(error.message);
      fail(ctx, a.msg.replyTo, a.msg.runId, error, a.correlationId);
      events.emit({ type: 'agent.run.finished', agent: name, runId: a.msg.runId, outcome: 'error', code: error.code, durationMs: clock.now() - a.startedAt });
    }
    for (const q of old.queue.drain()) fail(ctx, q.msg.replyTo, q.msg.runId, error, q.correlationId);
  };

  const activity = deps.activity;
  return {
    // the protocol is parsed; its own runs' outcomes and queue ticks, made by this actor, are
    // taken as they are (agentInboxSchema is the same rule as one schema, for direct callers)
    messages: agentMessageSchema,
    instances: [RunFinished, QueueTick],
    // only restarting and stopping matter to it: an agent never asked takes no turn
    signalStarted: false,
    initial: () => {
      rt = new Runtime();
      if (activity !== undefined) activity.runs = rt;
      return emptyMemory();
    },
    ...(persistent ? { persistence: { key: deps.journalKey!, apply, snapshotEvery: 100 } } : {}),
    receive: (state, msg, ctx) => {
      if (activity !== undefined) activity.lastActiveAt = clock.now();
      if (msg instanceof RunFinished) return onFinished(state, msg, ctx);
      if (msg instanceof QueueTick) {
        onQueueTick(ctx);
        return;
      }
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
          const queued = rt.queue.drain();
          for (const q of queued) fail(ctx, q.msg.replyTo, q.msg.runId, new TroupeError('TROUPE_ERR_KILLSWITCH_ENGAGED', `the kill switch cancelled the run before it started: ${msg.reason}`), q.correlationId);
          return;
        }
        case 'agent.status': {
          const usage = memoryUsage(state);
          const s: AgentStatus = {
            name,
            activeRuns: rt.active.size,
            queuedRuns: rt.queue.size,
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
