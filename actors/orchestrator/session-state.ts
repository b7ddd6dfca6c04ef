import { z } from 'zod';
import { corruptRecord } from '../../storage/index.js';
import { describeIssues } from '../../protocol/index.js';
import { dagSchema, type Dag } from './dag.js';

/** Session statuses (seed 001): terminal ones are completed, failed and cancelled. */
export const SESSION_STATUSES = ['active', 'waiting_approval', 'completed', 'failed', 'cancelled'] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];
export const TERMINAL_SESSION: ReadonlySet<string> = new Set(['completed', 'failed', 'cancelled']);

export type NodeStatus = 'pending' | 'running' | 'completed' | 'failed' | 'skipped';

const errorSchema = z.object({ code: z.string().max(100), message: z.string().max(2_000) });
export type NodeError = z.infer<typeof errorSchema>;

/** A node's progress. */
export interface NodeState {
  status: NodeStatus;
  /** Attempts started (restarts of the node included). */
  attempts: number;
  /** Attempts that failed (what retries count). */
  failures: number;
  /** Agent of the latest attempt. */
  agent?: string;
  result?: string;
  /** The A2A task of the latest attempt (when the runner runs nodes as A2A tasks). */
  task_id?: string;
  /** The A2A tasks of every attempt, oldest first (bounded). */
  tasks?: string[];
  /** The node (process) the completed attempt ran on, when the runner said. */
  ran_on?: string;
  error?: NodeError;
  reason?: string;
  /** A failed attempt's retry is not due before this time. */
  retry_at?: number;
  started_at?: number;
  finished_at?: number;
}

/** Where a session came from, when a protocol view follows it: the A2A task that started it (its scope, to resume it). */
export const sessionOriginSchema = z.strictObject({
  a2a_task: z.string().min(1).max(256),
  context_id: z.string().max(256),
  owner: z.string().max(256),
  tenant: z.string().max(256),
});
export type SessionOrigin = z.infer<typeof sessionOriginSchema>;

/** A suspension: what a node waits for a human to decide, and the decision once taken. */
export const approvalRecordSchema = z.object({
  id: z.string().max(200),
  session_id: z.string().max(100),
  node: z.string().max(64),
  agent: z.string().max(64),
  action: z.string().max(128),
  details: z.string().max(4_000).optional(),
  why: z.string().max(2_000).optional(),
  risks: z.array(z.string().max(500)).max(32),
  approvers: z.array(z.string().max(128)).max(32),
  auto_action: z.enum(['reject', 'approve', 'escalate']),
  /** The state of the A2A task that follows the workflow while this approval waits (absent: input-required). */
  a2a_state: z.enum(['input-required', 'auth-required']).optional(),
  status: z.enum(['pending', 'escalated', 'approved', 'rejected', 'modified']),
  created_at: z.number(),
  expires_at: z.number(),
  decision: z.enum(['approve', 'reject', 'modify']).optional(),
  reason: z.string().max(2_000).optional(),
  input: z.string().max(8_000).optional(),
  decided_by: z.string().max(200).optional(),
  decided_at: z.number().optional(),
  /** Where the decision came from: http, a2a, timeout, mcp, dashboard. */
  source: z.string().max(32).optional(),
  idempotency_key: z.string().max(255).optional(),
});
export type ApprovalRecord = z.infer<typeof approvalRecordSchema>;

/** A2A task ids kept per node (one per attempt; retries and restarts are bounded). */
const MAX_TASKS_PER_NODE = 32;

/** What a session actor holds: the fold of its journal. */
export interface SessionState {
  v: 1;
  id: string;
  /** False until `session.created` (a fresh actor before its first event). */
  created: boolean;
  status: SessionStatus;
  request: string;
  dag: Dag;
  nodes: Record<string, NodeState>;
  approvals: Record<string, ApprovalRecord>;
  ttl_ms: number;
  created_at: number;
  updated_at: number;
  expires_at: number;
  answer?: string;
  error?: NodeError;
  /** Revisions of the DAG while it ran. */
  revisions?: number;
  /** The A2A task that started it (the A2A view of the workflow). */
  origin?: SessionOrigin;
}

/** The journaled events of a session (validated when they are read back). */
export const sessionEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('session.created'), at: z.number(), request: z.string().max(100_000), dag: dagSchema, ttl_ms: z.number().int().positive(), origin: sessionOriginSchema.optional() }),
  z.object({ type: z.literal('node.started'), at: z.number(), node: z.string(), attempt: z.number().int(), agent: z.string() }),
  z.object({ type: z.literal('node.task'), at: z.number(), node: z.string(), attempt: z.number().int(), task_id: z.string().min(1).max(256) }),
  z.object({ type: z.literal('node.attempt_failed'), at: z.number(), node: z.string(), error: errorSchema, retry_at: z.number() }),
  z.object({ type: z.literal('node.completed'), at: z.number(), node: z.string(), result: z.string(), ran_on: z.string().max(128).optional() }),
  z.object({ type: z.literal('node.failed'), at: z.number(), node: z.string(), error: errorSchema }),
  z.object({ type: z.literal('node.skipped'), at: z.number(), node: z.string(), reason: z.string().max(500) }),
  z.object({ type: z.literal('approval.requested'), at: z.number(), approval: approvalRecordSchema }),
  z.object({
    type: z.literal('approval.decided'), at: z.number(), id: z.string(),
    status: z.enum(['escalated', 'approved', 'rejected', 'modified']),
    decision: z.enum(['approve', 'reject', 'modify']).optional(),
    reason: z.string().max(2_000).optional(), input: z.string().max(8_000).optional(),
    decided_by: z.string().max(200), source: z.string().max(32), idempotency_key: z.string().max(255).optional(),
  }),
  z.object({ type: z.literal('dag.revised'), at: z.number(), after: z.string(), dag: dagSchema }),
  z.object({ type: z.literal('session.finished'), at: z.number(), status: z.enum(['completed', 'failed', 'cancelled']), answer: z.string().optional(), error: errorSchema.optional() }),
]);
export type SessionEvent = z.infer<typeof sessionEventSchema>;

/** Events this process made (typed by construction): applied live without parsing them again. */
const made = new WeakSet<object>();

/** Mark an event as made here, so that its live apply skips the schema check (recovery never does). */
export function madeEvent<E extends SessionEvent>(e: E): E {
  made.add(e);
  return e;
}

/** A fresh session actor's state, before its first event. */
export function emptySession(id: string): SessionState {
  return {
    v: 1, id, created: false, status: 'active', request: '', dag: { nodes: [], edges: [], parallel_groups: [], on_failure: 'fail' },
    nodes: {}, approvals: {}, ttl_ms: 0, created_at: 0, updated_at: 0, expires_at: 0,
  };
}

function hasOpenApproval(s: SessionState): boolean {
  for (const a of Object.values(s.approvals)) if (a.status === 'pending' || a.status === 'escalated') return true;
  return false;
}

/**
 * Apply one event (live, and on recovery: never a side effect here). Events are checked
 * against their schema: a record that fails is TROUPE_ERR_STORAGE_CORRUPT_RECORD. The state
 * is changed in place (the journal encodes a snapshot when it is taken), so that a
 * 1,000-node DAG does not copy itself per event.
 */
export function applySessionEvent(s: SessionState, raw: unknown): SessionState {
  let e: SessionEvent;
  if (typeof raw === 'object' && raw !== null && made.has(raw)) e = raw as SessionEvent;
  else {
    const r = sessionEventSchema.safeParse(raw);
    if (!r.success) throw corruptRecord('journal', `session/${s.id}`, undefined, describeIssues(r.error));
    e = r.data;
  }
  s.updated_at = e.at;
  if (s.ttl_ms > 0) s.expires_at = e.at + s.ttl_ms;
  switch (e.type) {
    case 'session.created':
      s.created = true;
      s.request = e.request;
      s.dag = e.dag;
      s.ttl_ms = e.ttl_ms;
      s.created_at = e.at;
      s.expires_at = e.at + e.ttl_ms;
      s.status = 'active';
      if (e.origin) s.origin = e.origin;
      for (const n of e.dag.nodes) s.nodes[n.id] = { status: 'pending', attempts: 0, failures: 0 };
      break;
    case 'node.started': {
      const n = s.nodes[e.node];
      if (!n) break;
      n.status = 'running';
      n.attempts = e.attempt;
      n.agent = e.agent;
      n.started_at = e.at;
      delete n.retry_at;
      break;
    }
    case 'node.task': {
      const n = s.nodes[e.node];
      if (!n) break;
      n.task_id = e.task_id;
      n.tasks = [...(n.tasks ?? []), e.task_id].slice(-MAX_TASKS_PER_NODE);
      break;
    }
    case 'node.attempt_failed': {
      const n = s.nodes[e.node];
      if (!n) break;
      n.status = 'pending';
      n.failures++;
      n.error = e.error;
      n.retry_at = e.retry_at;
      break;
    }
    case 'node.completed': {
      const n = s.nodes[e.node];
      if (!n) break;
      n.status = 'completed';
      n.result = e.result;
      if (e.ran_on !== undefined) n.ran_on = e.ran_on;
      n.finished_at = e.at;
      delete n.error;
      break;
    }
    case 'node.failed': {
      const n = s.nodes[e.node];
      if (!n) break;
      n.status = 'failed';
      n.error = e.error;
      n.finished_at = e.at;
      break;
    }
    case 'node.skipped': {
      const n = s.nodes[e.node];
      if (!n) break;
      n.status = 'skipped';
      n.reason = e.reason;
      n.finished_at = e.at;
      break;
    }
    case 'approval.requested':
      // the suspension and the move to waiting_approval are one event: one commit
      s.approvals[e.approval.id] = { ...e.approval, risks: [...e.approval.risks], approvers: [...e.approval.approvers] };
      s.status = 'waiting_approval';
      break;
    case 'approval.decided': {
      const a = s.approvals[e.id];
      if (!a) break;
      a.status = e.status;
      if (e.decision !== undefined) a.decision = e.decision;
      if (e.reason !== undefined) a.reason = e.reason;
      if (e.input !== undefined) a.input = e.input;
      if (e.idempotency_key !== undefined) a.idempotency_key = e.idempotency_key;
      a.decided_by = e.decided_by;
      a.decided_at = e.at;
      a.source = e.source;
      if (!TERMINAL_SESSION.has(s.status)) s.status = hasOpenApproval(s) ? 'waiting_approval' : 'active';
      break;
    }
    case 'dag.revised': {
      const keep = new Set(e.dag.nodes.map((n) => n.id));
      for (const nodeId of Object.keys(s.nodes)) if (!keep.has(nodeId)) delete s.nodes[nodeId];
      for (const n of e.dag.nodes) s.nodes[n.id] ??= { status: 'pending', attempts: 0, failures: 0 };
      s.dag = e.dag;
      s.revisions = (s.revisions ?? 0) + 1;
      break;
    }
    case 'session.finished':
      s.status = e.status;
      if (e.answer !== undefined) s.answer = e.answer;
      if (e.error !== undefined) s.error = e.error;
      break;
  }
  return s;
}
