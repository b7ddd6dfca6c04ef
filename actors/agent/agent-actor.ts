import { TroupeError, serializeError, type Deadlines } from '../../protocol/index.js';
import type { Behaviour, Context, PersistenceSpec } from '../kernel/index.js';
import type { Signal } from '../../protocol/index.js';
import { memoryUsage, type AgentMemory, type MemoryEvent } from './memory.js';
import { agentMessageSchema, type AgentStatus, type RunAccepted, type RunMessage } from './messages.js';
import { RunFinished } from './run-finished.js';
import { AGENT_INBOX_INSTANCES, type AgentInbox } from './agent-inbox.js';
import { AgentResultMessage } from './requester-messages.js';
import { Runtime, type Active } from './run-table.js';
import { QUEUE_TIMER, QueueTick } from './queue-tick.js';
import type { Waiting } from './run-queue.js';
import { KILLSWITCH_REASON } from './run.js';
import { startRun } from './run-start.js';
import { fail, toRequester } from './requester.js';
import { deadlinesOf, reducerOf, type AgentDeps } from './agent-deps.js';
import { busyError, queueTimeoutError, shareExceededError, type RunLoad } from './run-refusals.js';

export type { AgentDeps } from './agent-deps.js';

/** Model failures that count towards `maxConsecutiveFailures`: the upstream is unwell. */
const HEALTH_CODES = new Set(['TROUPE_ERR_MODEL_UPSTREAM', 'TROUPE_ERR_MODEL_TIMEOUT']);
const CANCEL_CODES = new Set(['TROUPE_ERR_AGENT_CANCELLED']);

/**
 * The memory every incarnation starts from (before recovery): one frozen object for all
 * agents. The fold never changes a state in place (it returns a new one), so sharing it is safe.
 */
const EMPTY_MEMORY: AgentMemory = Object.freeze({ conversations: Object.freeze({}) }) as AgentMemory;

/**
 * The agent actor. Its state is its conversations, folded from journaled `turn.completed`
 * events. A run never blocks the mailbox: `agent.run` queues it, up to
 * `maxConcurrentRuns` execute at once (one per conversation), and each run's outcome comes
 * back through the mailbox as an internal RunFinished (which no other actor can send) and
 * is journaled before the requester gets the result. `agent.cancel` aborts a run and its
 * upstream request. `maxConsecutiveFailures` failed model calls in a row crash the actor
 * (TROUPE_ERR_AGENT_UNHEALTHY), so its supervisor restarts it with backoff, or gives up
 * past its restart intensity.
 *
 * One object per agent, its handlers on the prototype: it holds the agent's deps (what its
 * spec resolved to, shared with the agents of that spec), its run table while it holds runs
 * (none while idle) and two counters. A node of a hundred thousand idle agents holds a
 * hundred thousand of these small objects, not a hundred thousand sets of closures.
 *
 * @example
 * node.spawn(agentBehaviour(deps), { name: 'agent', poisonAfter: 1 });
 */
export class AgentActor implements Behaviour<AgentMemory, AgentInbox, MemoryEvent> {
  /** Present when the agent journals its memory. */
  declare readonly persistence?: PersistenceSpec<AgentMemory, MemoryEvent>;
  /** Run timeouts: one timer per 10 ms window, not per run (shared by the node's agents). */
  readonly deadlines: Deadlines;
  /** The current incarnation's runs; undefined while it holds none. */
  private rt: Runtime | undefined = undefined;
  /** Consecutive model failures of this incarnation. */
  private failures = 0;
  /** Recent run durations, smoothed: what a refused caller is told to wait (Retry-After). */
  private avgRunMs: number | undefined = undefined;

  constructor(readonly deps: AgentDeps) {
    this.deadlines = deadlinesOf(deps.clock);
    const key = deps.journalKey;
    if (key !== undefined) (this as { persistence?: PersistenceSpec<AgentMemory, MemoryEvent> }).persistence = { key, apply: reducerOf(deps.limits), snapshotEvery: 100 };
  }

  /**
   * What its mailbox takes: the protocol, parsed; its own runs' outcomes and queue ticks,
   * made by this actor, are taken as they are (`instances`; agentInboxSchema is the same
   * rule as one schema, for direct callers).
   */
  get messages(): typeof agentMessageSchema {
    return agentMessageSchema;
  }

  get instances(): ReadonlyArray<abstract new (...args: never[]) => unknown> {
    return AGENT_INBOX_INSTANCES;
  }

  /** Only restarting and stopping matter to it: an agent never asked takes no turn. */
  get signalStarted(): boolean {
    return false;
  }

  initial(): AgentMemory {
    this.setRuntime(undefined);
    this.failures = 0;
    return EMPTY_MEMORY;
  }

  receive(state: AgentMemory, msg: AgentInbox, ctx: Context<AgentInbox>): AgentMemory | void {
    const activity = this.deps.activity;
    if (activity !== undefined) activity.lastActiveAt = this.deps.clock.now();
    if (msg instanceof RunFinished) return this.onFinished(state, msg, ctx);
    if (msg instanceof QueueTick) {
      this.onQueueTick(ctx);
      return;
    }
    switch (msg.type) {
      case 'agent.run':
        this.onRun(state, msg, ctx);
        return;
      case 'agent.cancel':
        this.onCancel(msg.runId, msg.reason, ctx);
        return;
      case 'agent.halt': {
        const rt = this.rt;
        if (rt === undefined) return;
        // the kill switch: runs in tool calls too, not only those waiting on the model
        for (const a of rt.active.values()) a.controller.abort(KILLSWITCH_REASON);
        for (const q of rt.queue.drain()) fail(ctx, q.msg.replyTo, q.msg.runId, new TroupeError('TROUPE_ERR_KILLSWITCH_ENGAGED', `the kill switch cancelled the run before it started: ${msg.reason}`), q.correlationId);
        this.dropIfEmpty(ctx);
        return;
      }
      case 'agent.status': {
        const usage = memoryUsage(state);
        const s: AgentStatus = {
          name: this.deps.name,
          activeRuns: this.rt?.active.size ?? 0,
          queuedRuns: this.rt?.queue.size ?? 0,
          conversations: usage.conversations,
          consecutiveFailures: this.failures,
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
        if (this.rt?.busy.has(msg.conversationId) === true) {
          ctx.replyError(new TroupeError('TROUPE_ERR_AGENT_BUSY', `conversation ${msg.conversationId} has a run in flight`));
          return;
        }
        const { next, durable } = this.commit(state, { type: 'conversation.forgotten', conversationId: msg.conversationId, at: this.deps.clock.now() }, ctx);
        const r = ctx.replier();
        durable.then(() => r.reply(true), (e: unknown) => r.error(e));
        return next;
      }
    }
  }

  signal(_state: AgentMemory, sig: Signal, ctx: Context<AgentInbox>): void {
    const name = this.deps.name;
    if (sig.type === 'signal.restarting') {
      this.abandon(ctx, new TroupeError('TROUPE_ERR_ACTOR_FAILED', `agent ${name} crashed and is restarting; the run was abandoned`));
    } else if (sig.type === 'signal.stopping') {
      this.abandon(ctx, new TroupeError('TROUPE_ERR_ACTOR_STOPPED', `agent ${name} stopped; the run was abandoned`));
    }
  }

  /** The run table, made by the first run of an incarnation; the registry's idle sweep reads it. */
  private runtime(): Runtime {
    let rt = this.rt;
    if (rt === undefined) this.setRuntime((rt = new Runtime()));
    return rt;
  }

  private setRuntime(rt: Runtime | undefined): void {
    this.rt = rt;
    const activity = this.deps.activity;
    if (activity !== undefined) activity.runs = rt;
  }

  /** Let go of the run table once it holds no run (and of its queue timer). */
  private dropIfEmpty(ctx: Context<AgentInbox>): void {
    const rt = this.rt;
    if (rt === undefined || !rt.empty) return;
    if (rt.queueTimerAt !== undefined) ctx.timers.cancel(QUEUE_TIMER);
    this.setRuntime(undefined);
  }

  /** Free a run's slot and its conversation; false when the run is no longer this incarnation's. */
  private release(a: Active): boolean {
    const rt = this.rt;
    if (rt === undefined || rt.active.get(a.msg.runId) !== a) return false;
    rt.active.delete(a.msg.runId);
    this.deadlines.cancel(a.timer);
    if (a.msg.conversationId !== undefined) rt.busy.delete(a.msg.conversationId);
    return true;
  }

  /** Journal (or, without storage, just fold) one event; resolves once it is durable. */
  private commit(state: AgentMemory, event: MemoryEvent, ctx: Context<AgentInbox>): { next: AgentMemory; durable: Promise<void> } {
    const apply = this.persistence?.apply ?? reducerOf(this.deps.limits);
    // The handler's return value is ignored for persistent actors; the fold is the same.
    const durable = this.persistence === undefined ? Promise.resolve() : ctx.persist(event);
    return { next: apply(state, event), durable };
  }

  private pump(state: AgentMemory, ctx: Context<AgentInbox>): void {
    const rt = this.rt;
    if (rt === undefined || rt.queue.size === 0) return;
    const busy = rt.busy;
    const startable = (w: Waiting): boolean => w.msg.conversationId === undefined || !busy.has(w.msg.conversationId);
    while (rt.active.size < this.deps.limits.maxConcurrentRuns) {
      const w = rt.queue.take(startable);
      if (w === undefined) return;
      this.begin(rt, state, w, ctx);
    }
  }

  /** Start a run in a free slot. */
  private begin(rt: Runtime, state: AgentMemory, w: Waiting, ctx: Context<AgentInbox>): void {
    rt.active.set(w.msg.runId, startRun(this, state, w, ctx));
    if (w.msg.conversationId !== undefined) rt.busy.add(w.msg.conversationId);
  }

  /** The run load a refusal reports. */
  private load(): RunLoad {
    const rt = this.rt;
    return { agent: this.deps.name, maxConcurrentRuns: this.deps.limits.maxConcurrentRuns, active: rt?.active.size ?? 0, queued: rt?.queue.size ?? 0, avgRunMs: this.avgRunMs };
  }

  /** One kernel timer for the whole queue, set to its earliest deadline. */
  private armQueueTimer(rt: Runtime, ctx: Context<AgentInbox>, at: number | undefined): void {
    if (at === rt.queueTimerAt) return;
    rt.queueTimerAt = at;
    if (at === undefined) ctx.timers.cancel(QUEUE_TIMER);
    else ctx.timers.startSingle(QUEUE_TIMER, Math.max(0, at - this.deps.clock.now()), new QueueTick());
  }

  private onQueueTick(ctx: Context<AgentInbox>): void {
    const rt = this.rt;
    if (rt === undefined) return;
    rt.queueTimerAt = undefined;
    const { events, name, clock } = this.deps;
    for (const w of rt.queue.expire(clock.now())) {
      events.emit({ type: 'agent.run.refused', agent: name, code: 'TROUPE_ERR_AGENT_QUEUE_TIMEOUT' });
      fail(ctx, w.msg.replyTo, w.msg.runId, queueTimeoutError(this.load(), w.deadline - w.at), w.correlationId);
    }
    this.armQueueTimer(rt, ctx, rt.queue.earliestDeadline());
    this.dropIfEmpty(ctx);
  }

  /**
   * `agent.run` is asked: the reply is the acceptance, or the reason the run is refused (the
   * requester learns it from the ask, local or remote alike).
   */
  private onRun(state: AgentMemory, msg: RunMessage, ctx: Context<AgentInbox>): void {
    const { name, limits, events, clock } = this.deps;
    const known = this.rt;
    if (known !== undefined && (known.active.has(msg.runId) || known.queue.has(msg.runId))) {
      ctx.replyError(new TroupeError('TROUPE_ERR_AGENT_RUN_DUPLICATE', `run ${msg.runId} is already known to agent ${name}`));
      return;
    }
    const refused = this.deps.refusal?.();
    if (refused) {
      ctx.replyError(refused);
      return;
    }
    const active = known?.active.size ?? 0;
    const queued = known?.queue.size ?? 0;
    if (active + queued >= limits.maxConcurrentRuns + limits.maxQueuedRuns) {
      events.emit({ type: 'agent.run.refused', agent: name, code: 'TROUPE_ERR_AGENT_BUSY' });
      ctx.replyError(busyError(this.load()));
      return;
    }
    const caller = msg.caller ?? '';
    const share = limits.maxQueuedRunsPerCaller;
    if (share !== undefined && known !== undefined && active >= limits.maxConcurrentRuns && known.queue.waitingOf(caller) >= share) {
      events.emit({ type: 'agent.run.refused', agent: name, code: 'TROUPE_ERR_AGENT_QUEUE_SHARE_EXCEEDED' });
      ctx.replyError(shareExceededError(this.load(), share));
      return;
    }
    const rt = this.runtime();
    const at = clock.now();
    const deadlineMs = msg.queueDeadlineMs ?? limits.queueDeadlineMs;
    const w: Waiting = { msg, at, correlationId: ctx.correlationId, caller, deadline: at + deadlineMs };
    const conv = msg.conversationId;
    if (rt.queue.size === 0 && rt.active.size < limits.maxConcurrentRuns && (conv === undefined || !rt.busy.has(conv))) {
      // a free slot and nobody waiting: the queue would hand this very run out at once
      this.begin(rt, state, w, ctx);
    } else {
      rt.queue.push(w);
      this.pump(state, ctx);
    }
    if (rt.queue.has(msg.runId)) {
      // No slot now, and the caller would not wait: refused at once, not after a timer.
      if (deadlineMs === 0) {
        rt.queue.remove(msg.runId);
        events.emit({ type: 'agent.run.refused', agent: name, code: 'TROUPE_ERR_AGENT_QUEUE_TIMEOUT' });
        ctx.replyError(queueTimeoutError(this.load(), 0));
        return;
      }
      if (rt.queueTimerAt === undefined || w.deadline < rt.queueTimerAt) this.armQueueTimer(rt, ctx, w.deadline);
    }
    const accepted: RunAccepted = { type: 'agent.accepted', runId: msg.runId };
    ctx.reply(accepted);
  }

  private onCancel(runId: string, reason: string | undefined, ctx: Context<AgentInbox>): void {
    const rt = this.rt;
    if (rt === undefined) return;
    const q = rt.queue.remove(runId);
    if (q !== undefined) {
      fail(ctx, q.msg.replyTo, runId, new TroupeError('TROUPE_ERR_AGENT_CANCELLED', `run cancelled before it started${reason ? `: ${reason}` : ''}`), q.correlationId);
      this.dropIfEmpty(ctx);
      return;
    }
    rt.active.get(runId)?.controller.abort(reason ?? 'cancelled by the requester');
  }

  private onFinished(state: AgentMemory, msg: RunFinished, ctx: Context<AgentInbox>): AgentMemory {
    const active = this.rt?.active.get(msg.runId);
    // Not this incarnation's run (an earlier one's, whose requester already got an error).
    if (!active || !msg.isFor(active) || !this.release(active)) return state;
    const { name, clock, events, limits } = this.deps;
    const conv = active.msg.conversationId;
    const durationMs = clock.now() - active.startedAt;
    this.avgRunMs = this.avgRunMs === undefined ? durationMs : 0.8 * this.avgRunMs + 0.2 * durationMs;
    const replyTo = active.msg.replyTo;
    const cid = active.correlationId;

    const settled = msg.settlement;
    if (settled.ok) {
      this.failures = 0;
      const { result, messages } = settled.outcome;
      events.emit({ type: 'agent.run.finished', agent: name, runId: msg.runId, outcome: 'ok', durationMs, turns: result.turns, usage: result.usage });
      let next = state;
      if (conv !== undefined) {
        const c = this.commit(state, { type: 'turn.completed', conversationId: conv, runId: msg.runId, messages, usage: result.usage, at: clock.now() }, ctx);
        next = c.next;
        // The requester hears of the turn only once it is durable.
        c.durable.then(
          () => toRequester(ctx, replyTo, new AgentResultMessage(msg.runId, result), cid),
          (e: unknown) => fail(ctx, replyTo, msg.runId, serializeError(e), cid),
        );
      } else {
        toRequester(ctx, replyTo, new AgentResultMessage(msg.runId, result), cid);
      }
      this.pump(next, ctx);
      this.dropIfEmpty(ctx);
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
      this.failures += 1;
      events.emit({ type: 'agent.model.failed', agent: name, code, consecutive: this.failures });
      if (this.failures >= limits.maxConsecutiveFailures) {
        events.emit({ type: 'agent.unhealthy', agent: name, consecutive: this.failures });
        // Crash: the supervisor decides (restart with backoff, or give up past its intensity).
        throw new TroupeError('TROUPE_ERR_AGENT_UNHEALTHY', `agent ${name}: ${this.failures} consecutive model failures (last: ${code}: ${settled.error.message})`, {
          details: { consecutive: this.failures, last: code },
        });
      }
    }
    this.pump(state, ctx);
    this.dropIfEmpty(ctx);
    return state;
  }

  /** The incarnation ends: abort its runs and tell their requesters. */
  private abandon(ctx: Context<AgentInbox>, error: TroupeError): void {
    const old = this.rt;
    this.setRuntime(undefined);
    if (old === undefined) return;
    const { events, name, clock } = this.deps;
    for (const a of old.active.values()) {
      this.deadlines.cancel(a.timer);
      a.controller.abort(error.message);
      fail(ctx, a.msg.replyTo, a.msg.runId, error, a.correlationId);
      events.emit({ type: 'agent.run.finished', agent: name, runId: a.msg.runId, outcome: 'error', code: error.code, durationMs: clock.now() - a.startedAt });
    }
    for (const q of old.queue.drain()) fail(ctx, q.msg.replyTo, q.msg.runId, error, q.correlationId);
  }
}

/**
 * The agent actor's behaviour for `deps` (see {@link AgentActor}).
 *
 * @example
 * node.spawn(agentBehaviour({ name: 'a', instructions: '', limits, provider, model: 'm', tools: new Map(), toolSpecs: [], events, clock }), { name: 'agent' });
 */
export function agentBehaviour(deps: AgentDeps): Behaviour<AgentMemory, AgentInbox, MemoryEvent> {
  return new AgentActor(deps);
}
