import type { Logger } from 'pino';
import { TroupeError, type AgentPii, type PiiPolicy } from '../../protocol/index.js';
import type { InspectionEvent } from '../kernel/index.js';
import { applyPiiPolicy, countKinds, type PiiFinding, type PiiOutcome } from './detect.js';
import { applyPiiPolicyToValue, type PiiValueOutcome } from './structured.js';
import type { PiiOptions } from './options.js';

/** Where a policy came from, for events, logs and the audit record. */
export type PiiPolicySource = 'pair' | 'agent-to' | 'agent' | 'node-agent' | 'external' | 'default';

/** One share: context leaving `from` for `to` over `channel` (e.g. `a2a.context_share`, `a2a.external`). */
export interface PiiShare {
  from: string;
  to: string;
  channel: string;
  /** The receiver is outside the cluster (a proxy agent's remote server): the `external` policy applies by default. */
  external?: boolean;
  correlationId?: string;
}

/** What the guard needs of its node: events, the audit log (when there is one), agents' specs. */
export interface PiiGuardDeps {
  logger: Logger;
  emit(event: InspectionEvent): void;
  /** Appends a record to the audit chain (undefined: the node has no audit module). */
  audit?: (input: {
    action: string; actor: string; target: string; agent: string; outcome: 'ok' | 'refused';
    correlationId?: string; details: Record<string, string | number>;
  }) => Promise<unknown>;
  /** The `pii` of an agent's spec on this node, if it has one. */
  agentPii(name: string): AgentPii | undefined;
}

/**
 * The PII guard of a node: resolves the policy of a share, applies it
 * ({@link applyPiiPolicy}), and makes every decision observable three ways: an inspection
 * event (`pii.decision`), a log line, and a record in the audit chain (`PII_DECISION`),
 * committed before the share goes on. A BLOCK decision refuses with TROUPE_ERR_PII_BLOCKED.
 * Findings are reported by kind and count, never by value.
 *
 * @example
 * const { text } = await guard.share(context, { from: 'intake', to: 'billing', channel: 'a2a.context_share' });
 */
export class PiiGuard {
  constructor(private readonly options: PiiOptions, private readonly deps: PiiGuardDeps) {}

  /** The policy for context from `from` to `to`, and where it came from. */
  policyFor(from: string, to: string, external = false): { policy: PiiPolicy; source: PiiPolicySource } {
    const o = this.options;
    const pair = o.pairs.find((p) => p.from === from && p.to === to)
      ?? o.pairs.find((p) => p.from === from && p.to === '*')
      ?? o.pairs.find((p) => p.from === '*' && p.to === to);
    if (pair) return { policy: pair.policy, source: 'pair' };
    const spec = this.deps.agentPii(from);
    // names come from the sender (a peer's CONTEXT_SHARE): own keys only, never Object.prototype's
    const to1 = own(spec?.to, to) ?? own(spec?.to, '*');
    if (to1) return { policy: to1, source: 'agent-to' };
    if (spec?.policy) return { policy: spec.policy, source: 'agent' };
    const node = own(o.agents, from);
    if (node) return { policy: node, source: 'node-agent' };
    return external ? { policy: o.external, source: 'external' } : { policy: o.default, source: 'default' };
  }

  /**
   * Apply the share's policy to `text`. Resolves with what may go on (redacted under
   * REDACT); rejects with TROUPE_ERR_PII_BLOCKED under BLOCK when PII was found.
   */
  async share(text: string, share: PiiShare): Promise<PiiOutcome> {
    const { policy, source } = this.policyFor(share.from, share.to, share.external === true);
    const outcome = applyPiiPolicy(text, policy, this.options.maxScanChars);
    await this.decided(outcome, policy, source, share);
    return outcome;
  }

  /**
   * {@link share} for a structured context (CONTEXT_SHARE's data): every string of the value
   * passes the share's policy, and the whole value gets one decision, event, log line and
   * audit record.
   */
  async shareValue<T>(value: T, share: PiiShare): Promise<PiiValueOutcome<T>> {
    const { policy, source } = this.policyFor(share.from, share.to, share.external === true);
    const outcome = applyPiiPolicyToValue(value, policy, this.options.maxScanChars);
    await this.decided(outcome, policy, source, share);
    return outcome;
  }

  /** The decision made observable (event, log line, audit record); a BLOCK rejects. */
  private async decided(outcome: { decision: PiiOutcome['decision']; findings: PiiFinding[] }, policy: PiiPolicy, source: PiiPolicySource, share: PiiShare): Promise<void> {
    const counts = countKinds(outcome.findings);
    const kinds = Object.keys(counts).sort();
    this.deps.emit({
      type: 'pii.decision', from: share.from, to: share.to, channel: share.channel, decision: outcome.decision,
      policy: `${policy.action}:${source}`, findings: outcome.findings.length, kinds: counts,
    });
    const line = { from: share.from, to: share.to, channel: share.channel, decision: outcome.decision, policy: policy.action, source, findings: counts, ...(share.correlationId ? { correlationId: share.correlationId } : {}) };
    if (outcome.decision === 'BLOCK' || outcome.decision === 'WARN') this.deps.logger.warn(line, `PII ${outcome.decision === 'BLOCK' ? 'blocked' : 'passed with a warning'}: ${share.from} -> ${share.to}`);
    else if (outcome.decision === 'REDACT') this.deps.logger.info(line, `PII redacted: ${share.from} -> ${share.to}`);
    else this.deps.logger.debug(line, `PII check passed: ${share.from} -> ${share.to}`);
    if (this.deps.audit) {
      try {
        await this.deps.audit({
          action: 'PII_DECISION', actor: share.from, agent: share.from, target: share.to,
          outcome: outcome.decision === 'BLOCK' ? 'refused' : 'ok',
          ...(share.correlationId ? { correlationId: share.correlationId } : {}),
          details: { decision: outcome.decision, policy: policy.action, source, channel: share.channel.slice(0, 100), findings: outcome.findings.length, kinds: kinds.join(',') },
        });
      } catch (e) {
        // the audit log refuses past its backlog: the decision stands, and says so
        this.deps.logger.warn({ err: e, from: share.from, to: share.to }, 'could not record a PII decision in the audit log');
      }
    }
    if (outcome.decision === 'BLOCK') throw blocked(share, counts);
  }

  /**
   * {@link shareValue} for a caller that cannot wait (an actor's turn, such as the A2A
   * endpoint's CONTEXT_SHARE): the policy applies at once; the event, log line and audit
   * record follow on their own.
   */
  screenValue<T>(value: T, share: PiiShare): { value: T } | { refused: TroupeError } {
    const { policy, source } = this.policyFor(share.from, share.to, share.external === true);
    const outcome = applyPiiPolicyToValue(value, policy, this.options.maxScanChars);
    this.decided(outcome, policy, source, share).catch(() => undefined); // a BLOCK's rejection is the refusal below
    if (outcome.decision === 'BLOCK' || outcome.value === undefined) return { refused: blocked(share, countKinds(outcome.findings)) };
    return { value: outcome.value };
  }
}

/** `record[key]` when the record has it as its own key. */
function own<V>(record: Readonly<Record<string, V>> | undefined, key: string): V | undefined {
  return record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}

function blocked(share: PiiShare, counts: Record<string, number>): TroupeError {
  return new TroupeError('TROUPE_ERR_PII_BLOCKED', `the PII policy of ${share.from} -> ${share.to} blocks context holding ${Object.keys(counts).sort().join(', ')}`, {
    details: { from: share.from, to: share.to, findings: counts },
  });
}
