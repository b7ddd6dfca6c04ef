import type { Logger } from 'pino';
import type { A2ACall, ToolSpec } from '../../protocol/index.js';
import type { Context } from '../kernel/index.js';
import type { AgentDeps } from './agent-actor.js';
import type { AgentInbox } from './agent-inbox.js';
import type { Queued } from './run-table.js';
import { toolSpecOf, type AgentTool, type ToolContext } from './tools.js';

/**
 * The agent's tools for one run: its fixed ones, then what its tool sources offer now.
 *
 * @example
 * const { tools, toolSpecs } = withMoreTools(deps);
 */
export function withMoreTools(deps: AgentDeps): { tools: ReadonlyMap<string, AgentTool>; toolSpecs: ReadonlyArray<ToolSpec> } {
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

/**
 * What a run's tools see (made on the run's first tool call).
 *
 * @example
 * plan.toolContext = (signal) => runToolContext(deps, ctx, queued, signal, calls);
 */
export function runToolContext(deps: AgentDeps, ctx: Context<AgentInbox>, q: Queued, signal: AbortSignal, calls: A2ACall[]): ToolContext {
  const { msg, correlationId } = q;
  let toolLog: Logger | undefined;
  return {
    agent: deps.name,
    signal,
    clock: deps.clock,
    callChain: [...(msg.a2a?.callChain ?? []), deps.name],
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
      // a method call: the deps may be an object whose callTarget reads its own fields
      if (deps.callTarget === undefined) return ctx.ask(target, message, options);
      return deps.callTarget(target, () => ctx.ask(target, message, options));
    },
  };
}
