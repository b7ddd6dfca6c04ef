import { z } from 'zod';
import { dagSchema } from './dag.js';
import { sessionOriginSchema } from './session-state.js';

const errorSchema = z.object({ code: z.string().max(100), message: z.string().max(2_000) });

/** A human (or A2A, MCP, dashboard) decision on an approval, as the session actor takes it. */
export const decisionSchema = z.strictObject({
  decision: z.enum(['approve', 'reject', 'modify']),
  reason: z.string().max(2_000).optional(),
  /** With `modify`: the node's instruction to run instead. */
  input: z.string().min(1).max(8_000).optional(),
});
export type Decision = z.infer<typeof decisionSchema>;

/** Messages of a session actor. */
export const sessionMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('session.create'), request: z.string().min(1).max(100_000), dag: dagSchema, ttlMs: z.number().int().positive(), origin: sessionOriginSchema.optional() }),
  z.object({ type: z.literal('session.kick') }),
  /** A finished session idle for passivateAfterMs: its actor stops. */
  z.object({ type: z.literal('session.idle') }),
  z.object({ type: z.literal('session.get') }),
  /** Wait for the session to finish or to need a decision; one attached request at a time. */
  z.object({ type: z.literal('session.attach'), token: z.string().max(100) }),
  z.object({ type: z.literal('session.detach'), token: z.string().max(100) }),
  z.object({ type: z.literal('session.cancel') }),
  z.object({
    type: z.literal('session.decide'), approvalId: z.string().max(200), decision: decisionSchema,
    by: z.string().min(1).max(200), source: z.string().min(1).max(32), key: z.string().min(1).max(255).optional(),
  }),
  z.object({ type: z.literal('node.done'), node: z.string(), attempt: z.number().int(), content: z.string(), ranOn: z.string().max(128).optional() }),
  z.object({ type: z.literal('node.error'), node: z.string(), attempt: z.number().int(), error: errorSchema }),
  z.object({ type: z.literal('node.timeout'), node: z.string(), attempt: z.number().int() }),
  /** The runner made an A2A task for an attempt: its id is journaled (GET /v1/sessions/:id shows it). */
  z.object({ type: z.literal('node.task'), node: z.string(), attempt: z.number().int(), taskId: z.string().min(1).max(256) }),
  z.object({ type: z.literal('node.retry'), node: z.string() }),
  z.object({ type: z.literal('approval.expire'), approvalId: z.string() }),
  /** A planner's revision of the rest of the DAG (validated), or none, after `node` completed. */
  z.object({ type: z.literal('session.revise'), node: z.string(), dag: dagSchema.optional(), error: z.string().max(2_000).optional() }),
]);
export type SessionMessage = z.infer<typeof sessionMessageSchema>;

/** Progress of a workflow, for clients that stream it (attributed: which agent does what). */
export type SessionProgress =
  | { type: 'node.started'; session: string; node: string; agent: string; attempt: number; at: number }
  | { type: 'node.task'; session: string; node: string; agent: string; attempt: number; task: string; at: number }
  | { type: 'node.completed'; session: string; node: string; agent: string; result: string; at: number }
  | { type: 'node.failed'; session: string; node: string; agent: string; error: string; at: number }
  | { type: 'node.skipped'; session: string; node: string; reason: string; at: number }
  | { type: 'approval.requested'; session: string; node: string; approval: string; at: number }
  | { type: 'approval.decided'; session: string; node: string; approval: string; status: string; decided_by: string; source: string; at: number }
  | { type: 'dag.revised'; session: string; after: string; added: string[]; removed: string[]; at: number }
  | { type: 'session.finished'; session: string; status: string; at: number };
