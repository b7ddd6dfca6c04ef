import type { SerializedError, TerminatedReason } from '../../protocol/index.js';
import type { Directive } from '../../supervisors/index.js';

/**
 * Typed inspection events. Logs and metrics subscribe to them; tests observe them.
 * Per-message events are deliberately absent: they would cost the hot path.
 */
export type InspectionEvent =
  | { type: 'actor.spawned'; address: string; incarnation: number }
  | { type: 'actor.stopped'; address: string; reason: TerminatedReason }
  | { type: 'actor.failed'; address: string; error: SerializedError }
  | { type: 'actor.restarted'; address: string; incarnation: number; delayMs: number }
  | {
      type: 'supervisor.decision';
      supervisor: string;
      child: string;
      directive: Directive;
      plan: 'resume' | 'remove' | 'restart' | 'escalate';
      strategy: string;
      affected: string[];
      delayMs?: number;
      reason?: string;
      error?: SerializedError;
    }
  /** A failure reached the top of a tree (a guardian): `child` was stopped for good with `error` (TROUPE_ERR_SUPERVISOR_ESCALATED); `cause` is what it failed with. */
  | { type: 'supervisor.escalated'; supervisor: string; child: string; error: SerializedError; cause: SerializedError }
  | { type: 'message.dead-lettered'; id: string; reason: string; to: string; messageType: string }
  | { type: 'mailbox.overflow'; address: string; capacity: number }
  | { type: 'member.up'; node: string; peer: string }
  | { type: 'member.suspect'; node: string; peer: string }
  | { type: 'member.down'; node: string; peer: string }
  | { type: 'gateway.message'; messageType: string; runId?: string; target?: string }
  | { type: 'node.ready'; node: string }
  | { type: 'node.stopping'; node: string }
  /** An MCP server connection changed state (connecting, ready, backoff, stopped) or tool list. */
  | { type: 'mcp.connection'; server: string; state: string; tools: number; restarts: number; error?: string }
  | { type: 'mcp.call'; server: string; tool: string; ok: boolean; durationMs: number }
  /** A step of an agent-to-agent delegation (actors/a2a/delegation): a call starts, completes or fails, a fallback steps in, a breaker changes state. */
  | {
      type: 'a2a.delegation'; step: 'start' | 'complete' | 'failure' | 'fallback' | 'breaker'; caller: string; target: string;
      id?: string; node?: string; code?: string; attempt?: number; attempts?: number; final?: boolean; durationMs?: number; state?: string; fallback?: string; correlationId?: string;
    }
  /** A PII policy decided on context leaving agent `from` for `to` (kinds and counts only, never values). */
  | { type: 'pii.decision'; from: string; to: string; channel: string; decision: 'BLOCK' | 'REDACT' | 'WARN' | 'ALLOW'; policy: string; findings: number; kinds: Record<string, number> };

export type InspectionListener = (event: InspectionEvent) => void;

/** A minimal synchronous event bus; a throwing listener cannot break the emitter. */
export class EventBus<E> {
  private listeners: Array<(event: E) => void> = [];

  subscribe(listener: (event: E) => void): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  emit(event: E): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // an observer's bug must not break the runtime
      }
    }
  }
}

/** The node's inspection stream. */
export class Inspector extends EventBus<InspectionEvent> {}
