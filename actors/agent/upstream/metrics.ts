import { Gauge, Registry } from 'prom-client';
import type { UpstreamState } from './guard.js';

/** Most agents a scrape reports upstream series for (bounded label cardinality). */
const MAX_SERIES = 1_000;
const BREAKER_STATES = ['closed', 'open', 'half-open'] as const;

/**
 * The agents' upstream supervision in Prometheus text (the agents module's `metrics()`):
 * budget usage per window, breaker state, 429 pauses and kill switches, read at scrape time.
 *
 * @example
 * const metrics = upstreamMetrics(() => registry.names().map((n) => [n, registry.upstream(n)!.state()]));
 * await metrics(); // '# HELP troupe_agent_budget_tokens ...'
 */
export function upstreamMetrics(states: () => Array<[string, UpstreamState]>): () => Promise<string> {
  const registry = new Registry();
  const rows = (): Array<[string, UpstreamState]> => states().slice(0, MAX_SERIES);
  new Gauge({
    name: 'troupe_agent_budget_tokens', help: 'Tokens an agent used in the current budget window (minute, day)', labelNames: ['agent', 'window'], registers: [registry],
    collect() {
      this.reset();
      for (const [agent, s] of rows()) {
        this.set({ agent, window: 'minute' }, s.budget.minute.tokens);
        this.set({ agent, window: 'day' }, s.budget.day.tokens);
      }
    },
  });
  new Gauge({
    name: 'troupe_agent_budget_cost', help: 'Spend of an agent in the current day (spec budget.pricing)', labelNames: ['agent'], registers: [registry],
    collect() {
      this.reset();
      for (const [agent, s] of rows()) this.set({ agent }, s.budget.day.cost);
    },
  });
  new Gauge({
    name: 'troupe_agent_breaker_state', help: "State of the circuit breaker on an agent's upstream model (1 for the current state)", labelNames: ['agent', 'state'], registers: [registry],
    collect() {
      this.reset();
      for (const [agent, s] of rows()) for (const state of BREAKER_STATES) this.set({ agent, state }, s.breaker.state === state ? 1 : 0);
    },
  });
  new Gauge({
    name: 'troupe_agent_upstream_paused', help: "1 while an agent's model calls are paused after a 429", labelNames: ['agent'], registers: [registry],
    collect() {
      this.reset();
      for (const [agent, s] of rows()) this.set({ agent }, s.pausedUntil !== undefined ? 1 : 0);
    },
  });
  new Gauge({
    name: 'troupe_agent_killswitch_engaged', help: '1 while a kill switch covers the agent', labelNames: ['agent'], registers: [registry],
    collect() {
      this.reset();
      for (const [agent, s] of rows()) this.set({ agent }, s.killswitch ? 1 : 0);
    },
  });
  return () => registry.metrics();
}
