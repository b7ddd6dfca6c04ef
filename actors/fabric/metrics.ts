import { Counter, Gauge, Registry } from 'prom-client';
import type { PlaneView } from './plane.js';

/**
 * The fabric's Prometheus series (`troupe_fabric_*`) on a registry of the module's own,
 * appended to `GET /metrics`: routing decisions, executions per plane, and each plane's
 * breaker and in-flight actions at scrape time.
 */
export class FabricMetrics {
  readonly registry = new Registry();
  readonly routes: Counter<'outcome'>;
  readonly executions: Counter<'plane' | 'outcome'>;

  constructor(nodeId: string, planes: () => PlaneView[]) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ node: nodeId });
    this.routes = new Counter({ name: 'troupe_fabric_routes_total', help: 'ActionRouter decisions by outcome (routed, refused)', labelNames: ['outcome'], registers });
    this.executions = new Counter({ name: 'troupe_fabric_actions_total', help: 'Actions executed by plane and outcome (ok, error)', labelNames: ['plane', 'outcome'], registers });
    new Gauge({
      name: 'troupe_fabric_breaker_open', help: 'Whether a plane\'s circuit breaker is open (1), half open (0.5) or closed (0), sampled at scrape', labelNames: ['plane'], registers,
      collect() {
        for (const p of planes()) if (p.breaker !== null) this.set({ plane: p.id }, p.breaker === 'closed' ? 0 : p.breaker === 'half_open' ? 0.5 : 1);
      },
    });
    new Gauge({
      name: 'troupe_fabric_in_flight', help: 'Actions in flight per plane, sampled at scrape', labelNames: ['plane'], registers,
      collect() {
        for (const p of planes()) this.set({ plane: p.id }, p.in_flight);
      },
    });
  }
}
