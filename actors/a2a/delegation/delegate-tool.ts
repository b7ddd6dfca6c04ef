import { z } from 'zod';
import { MAX_A2A_INPUT_CHARS, type A2ACall } from '../../../protocol/index.js';
import type { AgentInfo, AgentSkill, AgentSpecData, AgentTool, ToolContext } from '../../agent/index.js';
import type { Delegator } from './delegator.js';

/** The built-in tool's name. */
export const DELEGATE_TOOL = 'delegate';
/** Agents the tool's description lists at most. */
const MAX_LISTED = 32;

const argsSchema = z.object({
  agent: z.string().min(1).max(64).describe('the agent to hand the task to (one of those listed)'),
  task: z.string().min(1).max(MAX_A2A_INPUT_CHARS).describe('what the agent should do, with everything it needs to know'),
  conversation_id: z.string().min(1).max(200).optional().describe("continue this conversation of that agent"),
});
type Args = z.infer<typeof argsSchema>;

function skillLine(s: AgentSkill): string {
  return `${s.name}${s.tags.length > 0 ? ` [${s.tags.join(', ')}]` : ''}`;
}

/** The agents `spec` may call among those known, as the tool lists them. */
function callable(spec: AgentSpecData, known: readonly AgentInfo[]): AgentInfo[] {
  const d = spec.delegates;
  const out = known.filter((a) => a.name !== spec.name && (d === '*' || (d ?? []).includes(a.name)));
  return out.slice(0, MAX_LISTED);
}

/**
 * The `delegate` tool of one agent: offered to its model when its spec has `delegates`. Its
 * description lists the agents it may call with their skills (from the cluster catalog); a
 * call hands the task to that agent as an A2A DELEGATE (see {@link Delegator}) and returns
 * its answer, or a coded failure the model can read. Each call (and a fallback's) lands in
 * the run's trace.
 */
export function delegateTool(spec: AgentSpecData, known: readonly AgentInfo[], delegator: Delegator): AgentTool<Args> {
  const options = spec.delegation;
  const list = callable(spec, known);
  const lines = list.map((a) => `- ${a.name}${a.description ? `: ${a.description.slice(0, 200)}` : ''}${a.skills.length > 0 ? ` (skills: ${(a.skills as AgentSkill[]).map(skillLine).join('; ')})` : ''}`);
  const named = spec.delegates === '*' ? [] : (spec.delegates ?? []).filter((n) => !list.some((a) => a.name === n));
  for (const n of named) lines.push(`- ${n}`);
  const description = `Hand a task to another agent and get its answer. Agents you may call:\n${lines.join('\n') || '(none known yet)'}`;
  return {
    name: DELEGATE_TOOL,
    description,
    parameters: argsSchema,
    // retries, their backoff and a fallback all fit in the tool's own limit
    timeoutMs: Math.min(3_600_000, (options.retries + 1) * (options.timeoutMs + options.backoff.maxMs) * 2 + 10_000),
    execute: async (args: Args, ctx: ToolContext) => {
      const outcome = await delegator.delegate({
        caller: spec.name,
        delegates: spec.delegates,
        options,
        target: args.agent,
        task: args.task,
        conversationId: args.conversation_id,
        callChain: ctx.callChain ?? [spec.name],
        traceparent: ctx.traceparent,
        correlationId: ctx.correlationId ?? ctx.runId,
        parentRunId: ctx.runId,
        signal: ctx.signal,
      });
      for (const c of outcome.calls) ctx.recordCall?.(c);
      const a = outcome.answered;
      if (a) return { status: 'completed', agent: a.target, node: a.node, ...(a.fallbackFor !== undefined ? { fallback_for: a.fallbackFor } : {}), answer: outcome.content };
      const last: A2ACall = outcome.calls[outcome.calls.length - 1]!;
      return { status: 'failed', agent: args.agent, error: last.error, ...(outcome.calls.length > 1 ? { fallback: { agent: last.target, error: last.error } } : {}) };
    },
  };
}
