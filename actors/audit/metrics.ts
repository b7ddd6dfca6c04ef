import { Counter, Gauge, Registry } from 'prom-client';

/**
 * The audit log's Prometheus series (`troupe_audit_*`) on a registry of the module's own,
 * appended to `GET /metrics`.
 */
export class AuditMetrics {
  readonly registry = new Registry();
  readonly records: Counter<'outcome'>;
  readonly commits: Counter;
  readonly checkpoints: Counter<'kind'>;

  constructor(nodeId: string, head: () => number) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ node: nodeId });
    this.records = new Counter({ name: 'troupe_audit_records_total', help: 'Audit records by outcome (committed, refused, failed)', labelNames: ['outcome'], registers });
    this.commits = new Counter({ name: 'troupe_audit_commits_total', help: 'Audit chain commits (one per batch of records)', registers });
    this.checkpoints = new Counter({ name: 'troupe_audit_checkpoints_total', help: 'Signed checkpoints made (own) and kept for peers (witnessed)', labelNames: ['kind'], registers });
    new Gauge({ name: 'troupe_audit_head_seq', help: 'Sequence number of the audit chain head', registers, collect() { this.set(head()); } });
  }
}
