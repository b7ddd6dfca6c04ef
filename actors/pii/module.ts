import { parseOrThrow, type AgentPii } from '../../protocol/index.js';
import type { AuditApi } from '../audit/index.js';
import type { AgentRegistry } from '../agent/index.js';
import type { NodeModule } from '../modules/index.js';
import { PiiGuard } from './guard.js';
import { PiiMetrics } from './metrics.js';
import { piiOptionsSchema, type PiiOptionsInput } from './options.js';

/** The pii module's name: `host.module<PiiGuard>(PII_MODULE)`. */
export const PII_MODULE = 'pii';

/**
 * PII policies as a node module: its API is the node's {@link PiiGuard}, which the modules
 * that send context out of an agent (A2A context sharing, external A2A agents) call with
 * `share(text, { from, to, channel })`. Each decision is an inspection event, a log line and
 * an audit record (when the node has the audit module).
 *
 * @example
 * const guard = node.module<PiiGuard>(PII_MODULE);
 * const { text } = await guard.share('mail ada@example.org', { from: 'a', to: 'b', channel: 'a2a.context_share' });
 */
export function piiModule(options: PiiOptionsInput = {}): NodeModule<PiiGuard> {
  const o = parseOrThrow(piiOptionsSchema, options, 'TROUPE_ERR_CONFIG_INVALID', 'invalid pii options');
  return {
    name: PII_MODULE,
    start: (host) => {
      const guard = new PiiGuard(o, {
        logger: host.logger.child({ module: PII_MODULE }),
        emit: (e) => host.emit(e),
        // looked up at each decision: the audit module may start after this one
        audit: (input) => (host.hasModule('audit') ? host.module<AuditApi>('audit').record(input) : Promise.resolve()),
        agentPii: (name): AgentPii | undefined => (host.hasModule('agents') ? host.module<AgentRegistry>('agents').get(name)?.pii : undefined),
      });
      // CONTEXT_SHARE between agents passes the policy of its pair (the a2a module starts first)
      if (host.hasModule('a2a')) {
        const inbox = host.module<{ delegation?: { inbox: { contextFilter: unknown } } }>('a2a').delegation?.inbox;
        if (inbox) {
          inbox.contextFilter = (m: { from: string; to: string; correlationId?: string; payload: { context: Record<string, unknown> } }) => {
            const r = guard.screenValue(m.payload.context, { from: m.from, to: m.to, channel: 'a2a.context_share', ...(m.correlationId ? { correlationId: m.correlationId } : {}) });
            return 'refused' in r ? r : { context: r.value };
          };
        }
      }
      const metrics = new PiiMetrics();
      return { api: guard, inspect: (e) => metrics.observe(e), metrics: () => metrics.registry.metrics() };
    },
  };
}
