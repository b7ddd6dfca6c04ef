import type { Logger } from 'pino';
import { serializeError, type Clock } from '../../protocol/index.js';
import { MAX_TIMER_DELAY_MS } from '../kernel/index.js';
import type { Dag, DagNode } from './dag.js';
import type { Graph } from './graph.js';
import type { NodeRunner } from './runner.js';
import type { SessionProgress } from './session-messages.js';
import type { ApprovalRecord, NodeError, SessionState } from './session-state.js';
import type { ReviseRequest } from './session-revision.js';
import type { Frontier } from './session-frontier.js';

/** What a session actor works with. */
export interface SessionDeps {
  clock: Clock;
  runner: () => NodeRunner;
  logger: Logger;
  /** Nodes of one session running at once. */
  maxParallel: number;
  nodeTimeoutMs: number;
  nodeRetries: number;
  retryBackoffMs: number;
  retryBackoffMaxMs: number;
  /** A node's output is cut to this many characters before it is journaled. */
  maxResultChars: number;
  /** After each change (the orchestrator's view for lists, approvals and sweeps). */
  changed: (s: SessionState) => void;
  progress: (p: SessionProgress) => void;
  /** A finished session's actor stops after this long without a message (it comes back from its journal when asked). */
  passivateAfterMs: number;
  /** A second request on a busy session: refused (409), or queued to get the same answer. */
  doubleTexting: 'reject' | 'enqueue';
  /** Called with each approval once its decision is journaled (the audit log, when the node has one). */
  decided?: (a: ApprovalRecord) => void;
  /** The planner's revision of the rest of the DAG after a node completed (validated), or undefined for none. */
  revise?: (r: ReviseRequest) => Promise<Dag | undefined>;
}

/** What one incarnation holds that is not journaled: attempts in flight, the attached request. */
export interface Live {
  inflight: Map<string, { attempt: number; abort: AbortController }>;
  /** Requests waiting for the session: one, or with double texting `enqueue` up to {@link MAX_ATTACHED}. */
  attached: Array<{ token: string; reply: (v: unknown) => void }>;
  graph?: Graph;
  byId?: Map<string, DagNode>;
  frontier?: Frontier;
  armed: boolean;
  /** Revisions asked for and not yet answered: nothing new starts before they are (what runs goes on). */
  revising: number;
}

/** A timer delay the node's timers take (0 to setTimeout's limit). */
export const clampDelay = (ms: number): number => Math.min(MAX_TIMER_DELAY_MS, Math.max(0, ms));
/** A node failure as journaled: code and message, bounded. */
export const asError = (e: unknown): NodeError => {
  const s = serializeError(e);
  return { code: s.code.slice(0, 100), message: s.message.slice(0, 2_000) };
};
