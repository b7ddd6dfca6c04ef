import { Counter, Gauge, Registry } from 'prom-client';
import type { DelegationEvent } from './delegator.js';
import type { A2AAuditRecord } from './inbox.js';

/**
 * Agent-to-agent figures in Prometheus text (part of the a2a module's `metrics()`): calls made
 * by this node's agents by final status, retried attempts, fallbacks, breakers open now, and
 * EXECUTE / DELEGATE messages this node took, by outcome. Labels are bounded (statuses, coded
 * error codes, two message types).
 *
 * @example
 * const m = new DelegationMetrics(() => delegator.openBreakers());
 * m.onEvent(event); await m.text();
 */
export class DelegationMetrics {
  private readonly registry = new Registry();
  private readonly calls = new Counter({ name: 'troupe_a2a_delegations_total', help: "Delegations made by this node's agents, by outcome (completed, or failed with its code)", labelNames: ['status', 'code'], registers: [this.registry] });
  private readonly retries = new Counter({ name: 'troupe_a2a_delegation_retries_total', help: 'Delegation attempts that failed and were retried', registers: [this.registry] });
  private readonly fallbacks = new Counter({ name: 'troupe_a2a_delegation_fallbacks_total', help: 'Delegations handed to the caller\'s fallback agent', registers: [this.registry] });
  private readonly received = new Counter({ name: 'troupe_a2a_messages_total', help: 'EXECUTE and DELEGATE messages this node took, by outcome (ok, error, refused)', labelNames: ['type', 'outcome'], registers: [this.registry] });

  constructor(openBreakers: () => number) {
    new Gauge({
      name: 'troupe_a2a_breakers_open', help: 'Delegation circuit breakers (per calling agent and target) open or half-open now', registers: [this.registry],
      collect() {
        this.set(openBreakers());
      },
    });
  }

  /** A delegation step (the Delegator's events). */
  onEvent(e: DelegationEvent): void {
    if (e.step === 'complete') this.calls.inc({ status: 'completed', code: '' });
    else if (e.step === 'failure') {
      if (e.final) this.calls.inc({ status: 'failed', code: e.code ?? '' });
      else this.retries.inc();
    } else if (e.step === 'fallback') this.fallbacks.inc();
  }

  /** What became of a message this node took (the inbox's audit records). */
  onReceived(r: A2AAuditRecord): void {
    this.received.inc({ type: r.action === 'A2A_EXECUTE' ? 'execute' : 'delegate', outcome: r.outcome });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
