import { serializeError, type A2ACall, type ChatMessage, type Deadlines, type ToolSpec } from '../../protocol/index.js';
import type { Context } from '../kernel/index.js';
import type { AgentDeps } from './agent-deps.js';
import type { AgentInbox } from './agent-inbox.js';
import type { AgentMemory } from './memory.js';
import type { RunParams, RunResult } from './messages.js';
import { toRequester } from './requester.js';
import { AgentDeltaMessage } from './requester-messages.js';
import { RunAbort } from './model/index.js';
import { RunFinished } from './run-finished.js';
import type { Active, Queued } from './run-table.js';
import { TIMEOUT_REASON, cancelled, executeRun, type RunPlan } from './run.js';
import { runToolContext, withMoreTools } from './run-tools.js';

const NO_TOOLS: ToolSpec[] = [];
const NO_PARAMS: RunParams = Object.freeze({});
/** What a run without a conversation adds to memory: nothing (no run appends to it). */
const NO_MESSAGES: ChatMessage[] = [];

/** Abort reason of a run whose requester can no longer take its deltas. */
export const UNDELIVERABLE_REASON = 'the requester could not take the streamed output';

/** What starting a run needs from its agent: its deps and the run deadlines. */
export interface RunStarter {
  readonly deps: AgentDeps;
  readonly deadlines: Deadlines;
}

/**
 * Start a queued run: its context (instructions, the conversation's history, the new
 * input), its deadline, and its execution, whose outcome comes back to the agent's mailbox
 * as a RunFinished. Returns the run as it is while in flight. All a run allocates (plan,
 * callbacks) is made here, per run: an idle agent holds none of it.
 *
 * @example
 * rt.active.set(q.msg.runId, startRun(this, state, q, ctx));
 */
export function startRun(agent: RunStarter, state: AgentMemory, q: Queued, ctx: Context<AgentInbox>): Active {
  const { deps, deadlines } = agent;
  const { msg } = q;
  const { clock, limits, name } = deps;
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
  deps.events.emit({ type: 'agent.run.started', agent: name, runId: msg.runId, queuedMs: startedAt - q.at });

  const self = ctx.self;
  /** The run's A2A calls (delegations), recorded by the `delegate` tool. */
  const calls: A2ACall[] = [];
  const temperature = deps.temperature;
  const { tools, toolSpecs } = withMoreTools(deps);
  const plan: RunPlan = {
    provider: deps.provider,
    model: deps.model,
    messages,
    tools,
    toolSpecs,
    clientTools: msg.clientTools ?? NO_TOOLS,
    params: temperature === undefined ? msg.params ?? NO_PARAMS : { temperature, ...msg.params },
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
      // the run's own hops, with this agent's first (the product is this run's alone)
      const chain = p.hops;
      chain.unshift({ kind: 'agent', actor: self.address, node: self.node, name, startedAt, durationMs: clock.now() - startedAt, ok: true });
      const trace: RunResult['trace'] = q.correlationId !== undefined ? { correlationId: q.correlationId, chain } : { chain };
      if (msg.a2a !== undefined || calls.length > 0) trace.callChain = [...(msg.a2a?.callChain ?? []), name];
      if (msg.a2a?.traceparent !== undefined) trace.traceparent = msg.a2a.traceparent;
      if (calls.length > 0) trace.calls = calls;
      const conversationId = msg.conversationId;
      const result: RunResult = conversationId === undefined
        ? { runId: msg.runId, agent: name, content: p.content, toolCalls: p.toolCalls, finishReason: p.finishReason, usage: p.usage, model: p.model, turns: p.turns, trace }
        : { runId: msg.runId, agent: name, conversationId, content: p.content, toolCalls: p.toolCalls, finishReason: p.finishReason, usage: p.usage, model: p.model, turns: p.turns, trace };
      // only a conversation's run adds messages to memory
      const added = conversationId === undefined ? NO_MESSAGES : [...msg.input, ...p.produced];
      return new RunFinished(active, msg.runId, { ok: true, outcome: { result, messages: added } });
    },
    (e: unknown) => {
      const err = controller.aborted ? cancelled(controller, e) : e;
      return new RunFinished(active, msg.runId, { ok: false, error: serializeError(err) });
    },
  );
  return active;
}
