import type { Logger } from 'pino';
import { z } from 'zod';
import type { ModelProvider } from '../agent/index.js';
import { classifyHeuristic, type Classifier, type RouteDecision } from './router.js';

/** The classifier's structured output. */
const decisionSchema = z.strictObject({
  needs_orchestration: z.boolean(),
  reason: z.string().max(200),
});

const SCHEMA = (() => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(decisionSchema) as Record<string, unknown>;
  return rest;
})();

const PROMPT = 'Decide whether the user request needs a multi-step workflow of several agents (research, comparison, drafting, review, several actions in sequence) or can be answered directly in one model call. Answer with JSON: { "needs_orchestration": boolean, "reason": short reason }.';

/**
 * A classifier that asks a model (structured output: `{ needs_orchestration, reason }`); when
 * the model fails or answers out of shape, the heuristic decides (reason prefixed
 * `fallback:`).
 *
 * @example
 * const classify = modelClassifier({ provider: () => registry.provider, temperature: 0 });
 */
export function modelClassifier(o: { provider: () => ModelProvider; model?: string; temperature?: number; timeoutMs?: number; logger?: Logger }): Classifier {
  return async (text: string): Promise<RouteDecision> => {
    try {
      const provider = o.provider();
      const r = await provider.complete({
        model: o.model ?? provider.defaultModel,
        messages: [{ role: 'system', content: PROMPT }, { role: 'user', content: text.slice(0, 20_000) }],
        ...(o.temperature !== undefined ? { temperature: o.temperature } : {}),
        responseFormat: { type: 'json_schema', json_schema: { name: 'routing_decision', schema: SCHEMA, strict: true } },
      }, { timeoutMs: o.timeoutMs ?? 10_000 });
      const d = decisionSchema.parse(JSON.parse(r.content ?? ''));
      return { route: d.needs_orchestration ? 'complex' : 'simple', reason: `model:${d.reason.replace(/[^\x20-\x7e]/g, '').slice(0, 100)}` };
    } catch (e) {
      o.logger?.warn({ err: e }, 'the routing model failed; the heuristic decides');
      const h = classifyHeuristic(text);
      return { route: h.route, reason: `fallback:${h.reason}` };
    }
  };
}
