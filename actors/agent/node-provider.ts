import type { Logger } from 'pino';
import { admitProvider, createProvider, describeProvider, providerConfigFromEnv, type ModelProvider } from './model/index.js';
import type { AgentRegistryOptions } from './registry-types.js';

/**
 * The node's default model provider: the one given, else one made from the options' model
 * config or the environment; logs which it is once, at start.
 */
export function nodeProvider(options: AgentRegistryOptions, log: Logger): ModelProvider {
  const provider = admitProvider(options.provider ?? createProvider(options.model ?? providerConfigFromEnv(process.env), { logger: log }));
  const d = describeProvider(provider);
  if (provider.offline) {
    log.info(d, `model provider: built-in offline model '${d.model}' (deterministic; set OPENAI_BASE_URL or OPENAI_API_KEY for a real upstream)`);
  } else {
    log.info(d, `model provider: OpenAI-compatible upstream at ${d.baseURL ?? '(default)'}, default model ${d.model}`);
  }
  return provider;
}
