import { z } from 'zod';
import { MAX_CALL_CHAIN, a2aCallSchema, addressSchema, serializedErrorSchema, traceparentSchema } from '../../protocol/index.js';
import {
  chatMessageSchema, finishReasonSchema, modelDeltaSchema, responseFormatSchema, toolCallSchema, toolChoiceSchema, toolSpecSchema, usageSchema,
} from '../../protocol/index.js';

/**
 * Messages of the run protocol, which agents speak (and any actor may). A requester (the
 * gateway actor) ASKS `agent.run` with its own address in `replyTo`; the ask is answered
 * with `agent.accepted` (or fails with the coded reason the run was refused: busy, a
 * duplicate run id, a full mailbox, no such actor, an unreachable node). The agent then
 * tells `agent.delta` messages (when streaming) and one `agent.result` or `agent.error` to
 * `replyTo`. `agent.cancel` aborts. The exchange is the same whether the agent lives on this
 * node or another.
 */

const id = z.string().min(1).max(200);

/** Knobs a caller may set per run (an OpenAI request's temperature, max_tokens, ...). */
export const runParamsSchema = z.object({
  temperature: z.number().min(0).max(2).optional(),
  maxTokens: z.number().int().positive().optional(),
  stop: z.union([z.string(), z.array(z.string())]).optional(),
  seed: z.number().int().optional(),
  responseFormat: responseFormatSchema.optional(),
});

/** Agent-to-agent context of a run: the call chain before it (the caller last) and the W3C traceparent. */
export const runA2ASchema = z.object({
  callChain: z.array(z.string().min(1).max(64)).max(MAX_CALL_CHAIN),
  traceparent: traceparentSchema.optional(),
});

/**
 * Start a run. With `conversationId` the agent adds `input` to that conversation's stored
 * history; without, `input` is the whole context (stateless, like OpenAI).
 */
export const runMessageSchema = z.object({
  type: z.literal('agent.run'),
  runId: id,
  /** Address of the requester: deltas and the result are told to it. */
  replyTo: addressSchema,
  conversationId: id.optional(),
  input: z.array(chatMessageSchema).max(10_000),
  /** Send `agent.delta` messages while the model answers. */
  stream: z.boolean().default(false),
  /** Tools the caller executes itself (OpenAI `tools`): calls to them end the run. */
  clientTools: z.array(toolSpecSchema).max(128).optional(),
  toolChoice: toolChoiceSchema.optional(),
  params: runParamsSchema.optional(),
  /**
   * Longest wait for a slot, from the agent's receipt of the run; past it the run is refused
   * (TROUPE_ERR_AGENT_QUEUE_TIMEOUT). 0: start now or not at all. Default: the agent's
   * `limits.queueDeadlineMs`.
   */
  queueDeadlineMs: z.number().int().min(0).max(3_600_000).optional(),
  /** Who asks (the id of an API key, never the key): queued runs are served round robin over callers. */
  caller: z.string().max(200).optional(),
  a2a: runA2ASchema.optional(),
});

/** The answer to the `agent.run` ask: the run is queued (its outcome follows as messages). */
export const acceptedSchema = z.object({ type: z.literal('agent.accepted'), runId: id });
export type RunAccepted = z.infer<typeof acceptedSchema>;

/** Abort a queued or running run (its upstream request is aborted too). */
export const cancelMessageSchema = z.object({ type: z.literal('agent.cancel'), runId: id, reason: z.string().max(200).optional() });

/** One hop of a run's trace: who handled it, for how long. */
export const traceHopSchema = z.object({
  kind: z.enum(['gateway', 'agent', 'model', 'tool']),
  actor: z.string().optional(),
  node: z.string().optional(),
  name: z.string().optional(),
  startedAt: z.number(),
  durationMs: z.number().nonnegative(),
  ok: z.boolean().optional(),
  finishReason: finishReasonSchema.optional(),
  error: z.string().optional(),
});

/** What a run produced. */
export const runResultSchema = z.object({
  runId: id,
  agent: z.string(),
  conversationId: id.optional(),
  /** Text of every model call of the run, in order (what the deltas streamed). */
  content: z.string().nullable(),
  /** Calls to the caller's own tools (finish reason `tool_calls`). */
  toolCalls: z.array(toolCallSchema),
  finishReason: finishReasonSchema,
  /** Summed over the run's model calls. */
  usage: usageSchema,
  /** The upstream model that answered. */
  model: z.string(),
  turns: z.number().int().nonnegative(),
  trace: z.object({
    correlationId: z.string().optional(),
    chain: z.array(traceHopSchema),
    /** The agents the request passed through, this run's agent last (when it came by delegation, or delegated). */
    callChain: z.array(z.string()).optional(),
    traceparent: z.string().optional(),
    /** The run's A2A calls (its delegations), each with status and duration, nested. */
    calls: z.array(a2aCallSchema).optional(),
  }),
});

/** The kill switch: cancel every run in flight and queued (TROUPE_ERR_KILLSWITCH_ENGAGED). */
export const haltMessageSchema = z.object({ type: z.literal('agent.halt'), reason: z.string().max(1_000) });

/** Ask: `{ name, activeRuns, queuedRuns, conversations, consecutiveFailures }`. */
export const statusMessageSchema = z.object({ type: z.literal('agent.status') });
/** Ask: the stored history of one conversation, or null. */
export const conversationMessageSchema = z.object({ type: z.literal('agent.conversation'), conversationId: id });
/** Ask: forget one conversation (journaled). Replies true when it existed. */
export const forgetMessageSchema = z.object({ type: z.literal('agent.forget'), conversationId: id });

/**
 * Everything an agent actor accepts from other actors. A run's outcome reaches the agent
 * by another way (an internal message no other actor can make), so no message here can
 * settle a run.
 */
export const agentMessageSchema = z.discriminatedUnion('type', [
  runMessageSchema,
  cancelMessageSchema,
  haltMessageSchema,
  statusMessageSchema,
  conversationMessageSchema,
  forgetMessageSchema,
]);

/** What the agent tells the requester. */
export const requesterMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('agent.delta'), runId: id, delta: modelDeltaSchema }),
  z.object({ type: z.literal('agent.result'), runId: id, result: runResultSchema }),
  z.object({ type: z.literal('agent.error'), runId: id, error: serializedErrorSchema }),
]);

export type RunMessage = z.output<typeof runMessageSchema>;
export type RunMessageInput = z.input<typeof runMessageSchema>;
export type RunParams = z.infer<typeof runParamsSchema>;
export type RunA2A = z.infer<typeof runA2ASchema>;
export type TraceHop = z.infer<typeof traceHopSchema>;
export type RunResult = z.infer<typeof runResultSchema>;
export type AgentMessage = z.output<typeof agentMessageSchema>;
export type RequesterMessage = z.infer<typeof requesterMessageSchema>;

/** The reply to `agent.status`. */
export interface AgentStatus {
  name: string;
  activeRuns: number;
  queuedRuns: number;
  conversations: number;
  consecutiveFailures: number;
  /** Bytes (JSON) and approximate tokens of all conversations' history (the memory bounds apply to these). */
  memoryBytes: number;
  memoryTokens: number;
}
