import { z } from 'zod';

/** The drill kinds this node can run. */
export const DRILL_KINDS = ['crash', 'kill', 'poison', 'flood', 'restart-storm', 'upstream', 'partition', 'kill-node', 'storage', 'slow-client'] as const;
export type DrillKind = (typeof DRILL_KINDS)[number];

/** How the `upstream` drill's model upstream fails: 429 with Retry-After, 500, a stalled stream, a slow one. */
export const UPSTREAM_DRILL_FAULTS = ['rate-limit', 'error', 'stall', 'slow'] as const;
/** Drill kinds whose target is another node of the cluster (a node id). */
export const NODE_DRILL_KINDS: ReadonlySet<DrillKind> = new Set(['partition', 'kill-node']);

/** Longest a drill may run. */
export const MAX_DRILL_DURATION_MS = 600_000;
/** Most bytes a slow-client drill has the agent write. */
export const MAX_SLOW_CLIENT_BYTES = 256 * 1024 * 1024;
/** Most messages one drill may send. */
export const MAX_DRILL_MESSAGES = 100_000;

/**
 * What a drill is asked to do: a kind and a named target (an actor path such as `user/worker`,
 * `agent:<name>` for an agent's actor, or a node id for `partition` and `kill-node`); never
 * an implicit "everything".
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
  /** upstream: how the model upstream fails (default rate-limit). */
  fault: z.enum(UPSTREAM_DRILL_FAULTS).optional(),
  /** upstream: the Retry-After of an injected 429, or the delay of a slow upstream. */
  retryAfterMs: z.number().int().positive().max(600_000).optional(),
  /** slow-client: bytes the agent writes to the slow client (default 64 MiB). */
  answerBytes: z.number().int().positive().max(MAX_SLOW_CLIENT_BYTES).optional(),
  /** slow-client: the slow client takes one chunk of the stream per this many ms (default 100). */
  readEveryMs: z.number().int().positive().max(60_000).optional(),
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
    /** partition: durable messages the receiver got more than once. */
    duplicates: z.number().int().nonnegative().optional(),
  }),
  clientErrors: z.record(z.string(), z.number().int().nonnegative()),
  probes: z.array(probeResultSchema).max(1_000),
  verdict: z.enum(['pending', 'held', 'violated']),
  error: z.string().max(512).optional(),
  /** Named instants of the drill beyond the common ones (clock ms), e.g. a partition's suspect, down, healed, up. */
  timeline: z.record(z.string().max(64), z.number()).optional(),
  /** slow-client: what the slow client got and how the node's memory moved meanwhile. */
  stream: z.object({
    /** Bytes the agent was set to write. */
    answerBytes: z.number().int().nonnegative(),
    /** Bytes the slow client read in all. */
    receivedBytes: z.number().int().nonnegative(),
    /** The code of the error event that ended the stream, when one did. */
    endedWith: z.string().max(64).optional(),
    /** True when the stream ended with [DONE] (the client took the whole answer). */
    completed: z.boolean(),
    /** Largest growth of the process's heap and external memory over its level before the fault. */
    memoryGrowthBytes: z.number().int(),
  }).optional(),
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
    case 'restart-storm': return `crashes past the supervisor's restart intensity escalate up the tree as configured; the parent handles a probe within ${r.probeWithinMs} ms after the storm; no message lost`;
    case 'upstream': return `the agent answers a run within ${r.probeWithinMs} ms before and after its upstream fails (${r.fault ?? 'rate-limit'}); every run during the fault answers or fails with a coded error, none lost${(r.fault ?? 'rate-limit') === 'rate-limit' ? '; no restart (a 429 pauses the agent)' : ''}`;
    case 'partition': return `the peer is detected suspect and then down during the partition; after the heal it is up again within ${r.probeWithinMs} ms and every durable message sent meanwhile is delivered once, none lost, none twice`;
    case 'storage': return `${probe}; while its LMDB writes fail it gets coded errors (TROUPE_ERR_STORAGE_WRITE) and its supervisor restarts it from what is on disk; no message lost`;
    case 'slow-client': return `the agent answers a streaming client within ${r.probeWithinMs} ms before, during and after; a client that reads its stream slower than the agent writes does not stall the agent's run forever: the gateway's buffer guard (sseMaxBufferedBytes) cuts the stream with a coded error event and cancels the run; the node's memory stays bounded (far below the ${r.answerBytes ?? 64 * 1024 * 1024} bytes the agent writes)`;
    case 'kill-node': return `the others detect the killed node (suspect, down); when it comes back it rejoins and answers a probe within ${r.probeWithinMs} ms`;
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
