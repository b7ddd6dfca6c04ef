import { z } from 'zod';

const DAY = 86_400_000;

/**
 * The orchestrator's options (config key `orchestrator`), validated once, defaulted and
 * frozen. Every limit is finite.
 */
export const orchestratorOptionsSchema = z.strictObject({
  /** The model name clients send to reach the orchestrator through `/v1/chat/completions`. */
  model: z.string().min(1).max(64).default('troupe'),
  /** The agent that answers the simple path of the orchestrator's model. */
  simpleAgent: z.string().min(1).max(64).default('assistant'),
  /** How long a session is kept after its last change (sliding); then it is swept (404). */
  ttlMs: z.number().int().min(1_000).max(365 * DAY).default(7 * DAY),
  /** How often expired sessions are swept from LMDB. */
  sweepEveryMs: z.number().int().min(100).max(DAY).default(60_000),
  /** Open (not finished) sessions a node holds at most. */
  maxSessions: z.number().int().min(1).max(100_000).default(1_000),
  /** Nodes of one session running at once. */
  maxParallel: z.number().int().min(1).max(256).default(8),
  nodeTimeoutMs: z.number().int().min(1).max(3_600_000).default(300_000),
  nodeRetries: z.number().int().min(0).max(10).default(2),
  retryBackoffMs: z.number().int().min(0).max(600_000).default(500),
  retryBackoffMaxMs: z.number().int().min(0).max(3_600_000).default(30_000),
  maxResultChars: z.number().int().min(100).max(10_000_000).default(100_000),
  /** A finished session's actor stops after this long without a message (it is recovered from its journal when asked again). */
  passivateAfterMs: z.number().int().min(1).max(DAY).default(60_000),
  /** How long a request may stay attached to a session waiting for its answer. */
  attachTimeoutMs: z.number().int().min(1).max(86_400_000).default(600_000),
  /**
   * The planner: `model` (the agents' upstream with structured output, corrected up to
   * `plannerAttempts` times), `offline` (deterministic), or `auto` (model when the node's
   * agents have a real upstream, else offline).
   */
  planner: z.enum(['auto', 'model', 'offline']).default('auto'),
  plannerModel: z.string().min(1).max(256).optional(),
  plannerTemperature: z.number().min(0).max(2).default(0),
  plannerAttempts: z.number().int().min(1).max(10).default(3),
  /** The classifier of the router: `model`, `heuristic`, or `auto` (model when there is a real upstream). */
  classifier: z.enum(['auto', 'model', 'heuristic']).default('auto'),
  classifierModel: z.string().min(1).max(256).optional(),
  classifierTemperature: z.number().min(0).max(2).default(0),
  /** Action types (a node's `action_type`) that need a human approval by policy, e.g. `write_data`, `external_call`. */
  approvalFor: z.array(z.string().min(1).max(64)).max(32).default([]),
  /** Timeout and auto action of approvals the policy adds. */
  approvalTimeoutMs: z.number().int().min(1_000).max(30 * DAY).default(DAY),
  approvalAutoAction: z.enum(['reject', 'approve', 'escalate']).default('reject'),
  /**
   * How workflow nodes run: `a2a` (each attempt an A2A task to its agent through the a2a
   * module; the task ids are in the session), `gateway` (a plain agent run through the
   * gateway actor), or `auto` (a2a when the node runs the a2a module).
   */
  nodeRunner: z.enum(['auto', 'a2a', 'gateway']).default('auto'),
  /** The node's own A2A agent (`POST /a2a`) runs complex requests as workflows (see `a2aWorkflows`). */
  a2aWorkflows: z.boolean().default(true),
  /** A second request on a busy session: `reject` (409 TROUPE_ERR_SESSION_BUSY) or `enqueue` (it waits, up to 32, for the same answer). */
  doubleTexting: z.enum(['reject', 'enqueue']).default('reject'),
});

export type OrchestratorOptionsInput = z.input<typeof orchestratorOptionsSchema>;
export type OrchestratorOptions = Readonly<z.output<typeof orchestratorOptionsSchema>>;
