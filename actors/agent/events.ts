import { EventBus } from '../kernel/index.js';
import type { Usage } from '../../protocol/index.js';

/**
 * Typed agent events, beside the kernel's inspection stream: metrics and logs subscribe to
 * them, tests observe them.
 */
export type AgentEvent =
  | { type: 'agent.spawned'; agent: string; address: string; durable: boolean }
  | { type: 'agent.removed'; agent: string }
  | { type: 'agent.stopped'; agent: string; reason: string }
  | { type: 'agent.run.started'; agent: string; runId: string; queuedMs: number }
  | {
      type: 'agent.run.finished';
      agent: string;
      runId: string;
      outcome: 'ok' | 'error' | 'cancelled';
      code?: string;
      durationMs: number;
      turns?: number;
      usage?: Usage;
    }
  /** A run refused by the agent's run queue: full (AGENT_BUSY), past its deadline or its caller's share. */
  | { type: 'agent.run.refused'; agent: string; code: 'TROUPE_ERR_AGENT_BUSY' | 'TROUPE_ERR_AGENT_QUEUE_TIMEOUT' | 'TROUPE_ERR_AGENT_QUEUE_SHARE_EXCEEDED' }
  | { type: 'agent.model.failed'; agent: string; code: string; consecutive: number }
  | { type: 'agent.unhealthy'; agent: string; consecutive: number }
  /** A 429: the agent's model calls wait until `until` (clock ms). */
  | { type: 'agent.upstream.paused'; agent: string; until: number; retryAfterMs: number }
  /** A breaker changed state: the model path's, or (with `target`) one on a target the agent calls. */
  | { type: 'agent.breaker'; agent: string; state: 'closed' | 'open' | 'half-open'; target?: string }
  | { type: 'agent.budget.exceeded'; agent: string; retryAfterMs: number }
  | { type: 'agent.halted'; agent: string; reason: string }
  | { type: 'agent.released'; agent: string }
  /** Idle past its passivateAfterMs: its actors stopped, its memory in LMDB; still listed and addressable. */
  | { type: 'agent.passivated'; agent: string }
  /** A message came for a passivated agent: its actors were spawned again, from its journal. */
  | { type: 'agent.activated'; agent: string };

export type AgentEventListener = (e: AgentEvent) => void;

/** Agent events ride the kernel's event bus: a throwing listener cannot break an agent. */
export class AgentEvents extends EventBus<AgentEvent> {}
