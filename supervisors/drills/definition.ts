import { z } from 'zod';

/** The drill kinds this node can run. */
export const DRILL_KINDS = ['crash', 'kill', 'poison', 'flood'] as const;
export type DrillKind = (typeof DRILL_KINDS)[number];

/** Longest a drill may run. */
export const MAX_DRILL_DURATION_MS = 600_000;
/** Most messages one drill may send. */
export const MAX_DRILL_MESSAGES = 100_000;

/**
 * What a drill is asked to do: a kind and a named target (an actor path such as `user/worker`,
 * or `agent:<name>` for an agent's actor); never an implicit "everything".
 *
 * @example drillRequestSchema.parse({ kind: 'crash', target: 'user/worker' })
 */
export const drillRequestSchema = z.strictObject({
  kind: z.enum(DRILL_KINDS),
  target: z.string().min(1).max(512),
  /** How long the fault lasts and recovery is watched for. */
  durationMs: z.number().int().positive().max(MAX_DRILL_DURATION_MS).default(5_000),
  /** crash: messages that crash; flood: messages sent (default: twice the mailbox capacity). */
  rate: z.number().int().positive().max(MAX_DRILL_MESSAGES).optional(),
  /** The payload sent by poison and flood (default `{ type: 'drill.message' }`). */
  message: z.unknown().optional(),
  /** The steady-state hypothesis: the target handles a probe within this many ms. */
  probeWithinMs: z.number().int().positive().max(60_000).default(2_000),
});
export type DrillRequestInput = z.input<typeof drillRequestSchema>;
export type DrillRequest = z.output<typeof drillRequestSchema>;

/** A probe of the steady-state hypothesis at one phase. */
export const probeResultSchema = z.object({
  phase: z.enum(['before', 'during', 'after']),
  at: z.number(),
  ok: z.boolean(),
  latencyMs: z.number().optional(),
  error: z.string().max(256).optional(),
});
export type ProbeResult = z.infer<typeof probeResultSchema>;

/**
 * A drill's report: what was injected when, when the node detected and recovered from it,
 * what supervision did, the message ledger (sent = delivered + dead-lettered + lost), client
 * errors by code, and the verdict against the hypothesis. Persisted and validated on read.
 */
export const drillReportSchema = z.object({
  v: z.literal(1),
  id: z.string().min(1).max(64),
  kind: z.enum(DRILL_KINDS),
  target: z.string(),
  status: z.enum(['running', 'finished', 'aborted', 'failed']),
  hypothesis: z.string(),
  startedAt: z.number(),
  injectedAt: z.number().optional(),
  detectedAt: z.number().optional(),
  recoveredAt: z.number().optional(),
  endedAt: z.number().optional(),
  restarts: z.number().int().nonnegative(),
  escalations: z.number().int().nonnegative(),
  messages: z.object({
    sent: z.number().int().nonnegative(),
    delivered: z.number().int().nonnegative(),
    deadLettered: z.number().int().nonnegative(),
    lost: z.number().int().nonnegative(),
  }),
  clientErrors: z.record(z.string(), z.number().int().nonnegative()),
  probes: z.array(probeResultSchema).max(1_000),
  verdict: z.enum(['pending', 'held', 'violated']),
  error: z.string().max(512).optional(),
});
export type DrillReport = z.infer<typeof drillReportSchema>;

/** The hypothesis each kind declares before it injects anything. */
export function hypothesisOf(r: DrillRequest): string {
  const probe = `the target handles a probe within ${r.probeWithinMs} ms before and after the fault`;
  switch (r.kind) {
    case 'crash': return `${probe}; its supervisor restarts it; no message lost`;
    case 'kill': return `${probe}; its supervisor restarts it`;
    case 'poison': return `${probe}; the poison message is dead-lettered, no other message lost`;
    case 'flood': return `${probe}; every message is delivered or dead-lettered with an overflow error, none silently dropped, no crash`;
  }
}

/**
 * The verdict: the hypothesis held when the before and after probes passed, no message was
 * lost, and the kind's own expectation was met.
 */
export function verdictOf(report: Pick<DrillReport, 'probes' | 'messages' | 'kind' | 'restarts' | 'recoveredAt'>, kindHeld: boolean): 'held' | 'violated' {
  const before = report.probes.filter((p) => p.phase === 'before');
  const after = report.probes.filter((p) => p.phase === 'after');
  const probesOk = before.length > 0 && before.every((p) => p.ok) && after.length > 0 && after.at(-1)!.ok;
  return probesOk && report.messages.lost === 0 && kindHeld ? 'held' : 'violated';
}
