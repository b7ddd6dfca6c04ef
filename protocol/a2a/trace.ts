import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { serializedErrorSchema } from '../envelope.js';

/** W3C trace context `traceparent` (version 00): `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`. */
export const TRACEPARENT_RE = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;
export const traceparentSchema = z.string().regex(TRACEPARENT_RE, 'a W3C traceparent (00-<trace id>-<parent id>-<flags>)');

/**
 * A new traceparent: a child span of `parent` (same trace id, a new parent id), or the root
 * of a new trace when there is none (or it is malformed).
 *
 * @example
 * const root = childTraceparent(); // '00-4bf9...-00f0...-01'
 * childTraceparent(root).slice(0, 36) === root.slice(0, 36); // same trace
 */
export function childTraceparent(parent?: string): string {
  const span = randomBytes(8).toString('hex');
  if (parent !== undefined && TRACEPARENT_RE.test(parent)) return `${parent.slice(0, 36)}${span}${parent.slice(52)}`;
  return `00-${randomBytes(16).toString('hex')}-${span}-01`;
}

/** The trace id of a traceparent. */
export function traceIdOf(traceparent: string): string {
  return traceparent.slice(3, 35);
}

/** The status of one A2A call as the trace shows it. */
export const a2aCallStatusSchema = z.enum(['completed', 'failed']);

/** Deepest nesting of calls a trace keeps (past it, nested calls are dropped). */
export const MAX_TRACE_NESTING = 8;

/** One A2A call of a run (seed 004's a2a_invoke_* events, one record per call): who, how it went, how long. */
export interface A2ACall {
  /** The message id of the EXECUTE or DELEGATE. */
  id: string;
  target: string;
  /** The node whose agent answered (when one did). */
  node?: string | undefined;
  status: 'completed' | 'failed';
  /** From the first send to the answer (or the last failure), retries and waits included. */
  durationMs: number;
  attempts: number;
  error?: { code: string; message: string; details?: Record<string, unknown> | undefined } | undefined;
  /** The target this call stood in for (a declared fallback). */
  fallbackFor?: string | undefined;
  /** The call chain the target saw (the target last). */
  callChain: string[];
  /** The target's own calls, nested. */
  calls: A2ACall[];
}

export const a2aCallSchema: z.ZodType<A2ACall> = z.lazy(() => z.object({
  id: z.string().min(1).max(200),
  target: z.string().min(1).max(64),
  node: z.string().min(1).max(128).optional(),
  status: a2aCallStatusSchema,
  durationMs: z.number().nonnegative(),
  attempts: z.number().int().nonnegative().max(100),
  error: serializedErrorSchema.optional(),
  fallbackFor: z.string().min(1).max(64).optional(),
  callChain: z.array(z.string().min(1).max(64)).max(64),
  calls: z.array(a2aCallSchema).max(256),
}));

/** Cut nesting past `depth` levels (a trace stays bounded whatever the chain did). */
export function boundCalls(calls: readonly A2ACall[], depth = MAX_TRACE_NESTING): A2ACall[] {
  return calls.slice(0, 256).map((c) => ({ ...c, calls: depth <= 1 ? [] : boundCalls(c.calls, depth - 1) }));
}

/** A call record as JSON responses show it (snake_case, as seed 004 names the fields). */
export function callToWire(c: A2ACall): Record<string, unknown> {
  return {
    id: c.id,
    target: c.target,
    ...(c.node !== undefined ? { node: c.node } : {}),
    status: c.status,
    duration_ms: c.durationMs,
    attempts: c.attempts,
    ...(c.error ? { error: { code: c.error.code, message: c.error.message } } : {}),
    ...(c.fallbackFor !== undefined ? { fallback_for: c.fallbackFor } : {}),
    call_chain: c.callChain,
    calls: c.calls.map(callToWire),
  };
}

/**
 * A run's agent-to-agent trace as JSON responses show it (seed 004's field names):
 * `{ correlation_id, call_chain, traceparent, calls: [{ target, node, status, duration_ms, ... }] }`;
 * undefined for a run that neither came by delegation nor delegated.
 */
export function a2aTraceToWire(t: { correlationId?: string | undefined; callChain?: string[] | undefined; traceparent?: string | undefined; calls?: A2ACall[] | undefined }): Record<string, unknown> | undefined {
  if (t.callChain === undefined && (t.calls === undefined || t.calls.length === 0)) return undefined;
  return {
    correlation_id: t.correlationId ?? null,
    call_chain: t.callChain ?? [],
    ...(t.traceparent !== undefined ? { traceparent: t.traceparent } : {}),
    calls: (t.calls ?? []).map(callToWire),
  };
}
