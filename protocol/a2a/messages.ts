import { z } from 'zod';
import { addressSchema, serializedErrorSchema } from '../envelope.js';
import { a2aCallSchema, traceparentSchema } from './trace.js';

/**
 * Agent-to-agent messages (seed 000 §3.3 and §6.3: EXECUTE, DELEGATE, CONTEXT_SHARE,
 * STATUS_QUERY), as actor messages with dotted names. Each carries the seed's routing and
 * correlation fields, the call chain and W3C traceparent of seed 004, and an optional
 * `expiresAt` (epoch ms): a receiver refuses an expired EXECUTE or DELEGATE with
 * TROUPE_ERR_A2A_MESSAGE_EXPIRED and never runs it. EXECUTE and DELEGATE travel durably
 * (the sender's LMDB outbox, deduplicated on arrival); the receiver answers each with one
 * `a2a.result` told to `replyTo`, and answers a repeated message id with the same result.
 */

/** An agent name as agent specs allow it (kept here: protocol/ imports nothing of ours). */
export const A2A_AGENT_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const a2aAgentNameSchema = z.string().regex(A2A_AGENT_NAME_RE, 'agent names: 1-64 of [A-Za-z0-9._-]');

/** The longest call chain a message may carry (the depth limit of delegation is below it). */
export const MAX_CALL_CHAIN = 32;
/** The longest task text an EXECUTE or DELEGATE carries. */
export const MAX_A2A_INPUT_CHARS = 256 * 1024;

const id = z.string().min(1).max(200);

/** Fields every A2A message has (seed 000 §6.3 `A2AMessage`, seed 004's context). */
const common = {
  /** The message id: a repeat of it is answered, never run again. */
  id,
  /** The sending agent (or `client` for a caller that is no agent). */
  from: z.string().min(1).max(64),
  /** The receiving agent. */
  to: a2aAgentNameSchema,
  /** End-to-end request id: every message and run of one request shares it. */
  correlationId: id,
  inReplyTo: id.optional(),
  /** The agents the request passed through, the caller last (seed 004 `call_chain`). */
  callChain: z.array(z.string().min(1).max(64)).max(MAX_CALL_CHAIN),
  traceparent: traceparentSchema.optional(),
  /** Epoch ms. */
  createdAt: z.number().int().nonnegative(),
  /** Epoch ms past which the receiver refuses to run it. */
  expiresAt: z.number().int().nonnegative().optional(),
  /** Where the answer is told. */
  replyTo: addressSchema,
  /** The sender's attempt (a retry repeats the id with the next attempt): echoed in the answer. */
  attempt: z.number().int().min(0).max(100).default(0),
};

/** The task an EXECUTE or DELEGATE asks for. */
export const a2aTaskPayloadSchema = z.object({
  input: z.string().min(1).max(MAX_A2A_INPUT_CHARS),
  /** Continue this conversation of the target agent. */
  conversationId: z.string().min(1).max(200).optional(),
});

/** `a2a.execute`: run a task on the target agent (seed 000: fabric context travels with it). */
export const a2aExecuteSchema = z.object({
  type: z.literal('a2a.execute'),
  ...common,
  payload: a2aTaskPayloadSchema,
  fabricContext: z.record(z.string(), z.unknown()).optional(),
});

/** `a2a.delegate`: an agent's run hands a task to another agent (the `delegate` tool). */
export const a2aDelegateSchema = z.object({
  type: z.literal('a2a.delegate'),
  ...common,
  payload: a2aTaskPayloadSchema,
  /** The run of the delegating agent. */
  parentRunId: id.optional(),
});

/** `a2a.context_share`: hand context to an agent (the PII policy of the a2a issue applies). */
export const a2aContextShareSchema = z.object({
  type: z.literal('a2a.context_share'),
  ...common,
  payload: z.object({ context: z.record(z.string(), z.unknown()) }),
});

/** `a2a.status_query`: the state of an earlier EXECUTE or DELEGATE, by its message id. */
export const a2aStatusQuerySchema = z.object({
  type: z.literal('a2a.status_query'),
  ...common,
  payload: z.object({ messageId: id }),
});

/** What an A2A endpoint accepts. */
export const a2aRequestSchema = z.discriminatedUnion('type', [a2aExecuteSchema, a2aDelegateSchema, a2aContextShareSchema, a2aStatusQuerySchema]);

/** The state of an EXECUTE or DELEGATE at its receiver. */
export const a2aTaskStateSchema = z.enum(['unknown', 'running', 'completed', 'failed']);

/** `a2a.result`: the answer to one EXECUTE or DELEGATE (`inReplyTo` is its id). */
export const a2aResultSchema = z.object({
  type: z.literal('a2a.result'),
  inReplyTo: id,
  correlationId: id,
  from: a2aAgentNameSchema,
  /** The node whose agent ran it. */
  node: z.string().min(1).max(128),
  status: z.enum(['completed', 'failed']),
  content: z.string().max(4 * MAX_A2A_INPUT_CHARS).nullable(),
  error: serializedErrorSchema.optional(),
  /** The call chain as the target saw it (the target last). */
  callChain: z.array(z.string().min(1).max(64)).max(MAX_CALL_CHAIN + 1),
  /** The target run's own A2A calls (its delegations), nested. */
  calls: z.array(a2aCallSchema).max(256).default([]),
  durationMs: z.number().nonnegative(),
  /** The attempt of the request this answers. */
  attempt: z.number().int().min(0).max(100).default(0),
});

/** `a2a.status`: the answer to a STATUS_QUERY. */
export const a2aStatusSchema = z.object({
  type: z.literal('a2a.status'),
  inReplyTo: id,
  messageId: id,
  state: a2aTaskStateSchema,
  result: a2aResultSchema.optional(),
});

/** `a2a.context_ack`: the answer to a CONTEXT_SHARE. */
export const a2aContextAckSchema = z.object({
  type: z.literal('a2a.context_ack'),
  inReplyTo: id,
  accepted: z.boolean(),
  /** Keys of the shared context that were kept. */
  keys: z.array(z.string().max(256)).max(1_000),
  error: serializedErrorSchema.optional(),
});

/** What a sender's endpoint gets back. */
export const a2aReplySchema = z.discriminatedUnion('type', [a2aResultSchema, a2aStatusSchema, a2aContextAckSchema]);

/** Everything an A2A endpoint actor takes: requests from any node, replies to its own requests. */
export const a2aMessageSchema = z.discriminatedUnion('type', [
  a2aExecuteSchema, a2aDelegateSchema, a2aContextShareSchema, a2aStatusQuerySchema, a2aResultSchema, a2aStatusSchema, a2aContextAckSchema,
]);

export type A2AExecute = z.infer<typeof a2aExecuteSchema>;
export type A2ADelegate = z.infer<typeof a2aDelegateSchema>;
export type A2AContextShare = z.infer<typeof a2aContextShareSchema>;
export type A2AStatusQuery = z.infer<typeof a2aStatusQuerySchema>;
export type A2ARequest = z.infer<typeof a2aRequestSchema>;
export type A2AResult = z.infer<typeof a2aResultSchema>;
export type A2AResultInput = z.input<typeof a2aResultSchema>;
export type A2AStatus = z.infer<typeof a2aStatusSchema>;
export type A2AContextAck = z.infer<typeof a2aContextAckSchema>;
export type A2AReply = z.infer<typeof a2aReplySchema>;
export type A2AMessage = z.infer<typeof a2aMessageSchema>;
export type A2ATaskState = z.infer<typeof a2aTaskStateSchema>;

/** True when the message carries an `expiresAt` that `now` has reached. */
export function isExpired(m: { expiresAt?: number | undefined }, now: number): boolean {
  return m.expiresAt !== undefined && now >= m.expiresAt;
}
