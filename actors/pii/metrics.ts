import { Counter, Registry } from 'prom-client';
import { PII_KINDS } from '../../protocol/index.js';
import type { InspectionEvent } from '../kernel/index.js';

/**
 * The pii module's Prometheus series, fed from its `pii.decision` inspection events: decisions
 * by decision and channel, findings by kind. Labels are bounded (four decisions, the kinds,
 * channels cut to 64 characters and to the first 32 seen).
 *
 * @example
 * const m = new PiiMetrics(); host.inspect((e) => m.observe(e)); await m.registry.metrics();
 */
export class PiiMetrics {
  readonly registry = new Registry();
  private readonly channels = new Set<string>();
  private readonly decisions = new Counter({
    name: 'troupe_pii_decisions_total', help: 'PII policy decisions on context leaving agents', labelNames: ['decision', 'channel'], registers: [this.registry],
  });
  private readonly findings = new Counter({
    name: 'troupe_pii_findings_total', help: 'PII found in context leaving agents, by kind', labelNames: ['kind'], registers: [this.registry],
  });

  constructor() {
    for (const kind of PII_KINDS) this.findings.inc({ kind }, 0);
  }

  observe(e: InspectionEvent): void {
    if (e.type !== 'pii.decision') return;
    let channel = e.channel.slice(0, 64);
    if (!this.channels.has(channel)) {
      if (this.channels.size >= 32) channel = 'other';
      else this.channels.add(channel);
    }
    this.decisions.inc({ decision: e.decision, channel });
    for (const [kind, n] of Object.entries(e.kinds)) if ((PII_KINDS as readonly string[]).includes(kind)) this.findings.inc({ kind }, n);
  }
}
