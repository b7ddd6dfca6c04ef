import { Counter, Registry } from 'prom-client';
import { HistogramSeries, type HistogramChild } from '../modules/index.js';
import type { AgentEvents } from './events.js';

/** Agents whose queue series are kept; past it new agents are not labelled (bounded cardinality). */
const MAX_AGENTS = 1_000;

/**
 * The agents' run queues in Prometheus text (part of the agents module's `metrics()`): runs
 * refused by code (`TROUPE_ERR_AGENT_QUEUE_TIMEOUT`, `..._QUEUE_SHARE_EXCEEDED`,
 * `TROUPE_ERR_AGENT_BUSY`) and how long started runs waited for a slot. Fed by agent events;
 * a removed agent's series go with it.
 *
 * @example
 * const queue = queueMetrics(registry.events);
 * await queue(); // '# HELP troupe_agent_runs_refused_total ...'
 */
export function queueMetrics(events: AgentEvents): () => Promise<string> {
  const registry = new Registry();
  const refused = new Counter({ name: 'troupe_agent_runs_refused_total', help: "Runs an agent's run queue refused, by code", labelNames: ['agent', 'code'], registers: [registry] });
  // observed on every run start: a series child per agent, kept (no label hashing per run)
  const waited = new HistogramSeries('troupe_agent_queue_wait_seconds', 'Time a run waited for one of its agent\'s slots', ['agent'],
    [0.001, 0.005, 0.025, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60], registry);
  const waits = new Map<string, HistogramChild<'agent'>>();
  const known = new Set<string>();
  const labelled = (agent: string): boolean => {
    if (known.has(agent)) return true;
    if (known.size >= MAX_AGENTS) return false;
    known.add(agent);
    return true;
  };
  const codes = ['TROUPE_ERR_AGENT_BUSY', 'TROUPE_ERR_AGENT_QUEUE_TIMEOUT', 'TROUPE_ERR_AGENT_QUEUE_SHARE_EXCEEDED'] as const;
  events.subscribe((e) => {
    switch (e.type) {
      case 'agent.run.refused':
        if (labelled(e.agent)) refused.inc({ agent: e.agent, code: e.code });
        return;
      case 'agent.run.started': {
        let child = waits.get(e.agent);
        if (child === undefined) {
          if (!labelled(e.agent)) return;
          waits.set(e.agent, (child = waited.child({ agent: e.agent })));
        }
        child.observe(e.queuedMs / 1000);
        return;
      }
      case 'agent.removed':
        if (!known.delete(e.agent)) return;
        for (const code of codes) refused.remove({ agent: e.agent, code });
        waits.delete(e.agent);
        waited.remove({ agent: e.agent });
        return;
      default:
        return;
    }
  });
  return () => registry.metrics();
}
