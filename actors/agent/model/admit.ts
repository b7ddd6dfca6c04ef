import type { z } from 'zod';
import { TroupeError, describeIssues } from '../../../protocol/index.js';
import { modelDeltaSchema, modelResultSchema } from '../../../protocol/index.js';
import { OfflineModel } from './offline.js';
import { OpenAIProvider } from './openai.js';
import type { CompleteOptions, ModelProvider, ModelRequest } from './provider.js';
import type { ModelResult } from '../../../protocol/index.js';

/** `value` held to `schema`, or TROUPE_ERR_MODEL_UPSTREAM naming the provider. */
function held<T>(schema: z.ZodType<T>, value: unknown, provider: string, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw new TroupeError('TROUPE_ERR_MODEL_UPSTREAM', `model provider '${provider}' gave a malformed ${what}: ${describeIssues(r.error)}`);
}

/**
 * A provider as the node runs it. troupe's own providers check what enters through them
 * (the OpenAI provider checks every upstream chunk; the offline model makes its output);
 * any other provider is code from outside, so its results and deltas are checked here, at
 * the edge where they enter, and runs never check again.
 *
 * @example
 * const provider = admitProvider(myProvider); // results and deltas now held to the schemas
 */
export function admitProvider(p: ModelProvider): ModelProvider {
  if (p instanceof OpenAIProvider || p instanceof OfflineModel) return p;
  return {
    name: p.name,
    offline: p.offline,
    defaultModel: p.defaultModel,
    complete: async (req: ModelRequest, opts: CompleteOptions = {}): Promise<ModelResult> => {
      const o: CompleteOptions = { ...opts };
      const onDelta = opts.onDelta;
      if (onDelta) o.onDelta = (d) => onDelta(held(modelDeltaSchema, d, p.name, 'delta'));
      return held(modelResultSchema, await p.complete(req, o), p.name, 'result');
    },
  };
}
