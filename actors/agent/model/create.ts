import { TroupeError, withoutUndefined } from '../../../protocol/index.js';
import { OfflineModel, type OfflineModelOptions } from './offline.js';
import { OpenAIProvider, type OpenAIProviderDeps, type OpenAIProviderOptions } from './openai.js';
import type { ModelProvider } from './provider.js';

/**
 * Where a node's model comes from. With neither `baseURL` nor `apiKey` the built-in
 * offline model answers; `provider` forces a choice.
 */
export interface ProviderConfig {
  /** `auto` (default): OpenAI-compatible when baseURL or apiKey is set, else offline. */
  provider?: 'auto' | 'openai' | 'offline';
  baseURL?: string;
  apiKey?: string;
  /** Default model for agents that name none (TROUPE_MODEL). */
  model?: string;
  connectTimeoutMs?: number;
  responseTimeoutMs?: number;
  idleTimeoutMs?: number;
  timeoutMs?: number;
  maxRetries?: number;
  maxRetryAfterMs?: number;
  maxConnections?: number;
  keepAliveMs?: number;
  maxResponseBytes?: number;
  maxTokensField?: OpenAIProviderOptions['maxTokensField'];
  headers?: Record<string, string>;
  offline?: Omit<OfflineModelOptions, 'logger'>;
}

/**
 * Read OPENAI_BASE_URL, OPENAI_API_KEY and TROUPE_MODEL. Empty values count as unset.
 * Kept apart from createProvider so that reading the environment is a visible step.
 *
 * @example
 * const provider = createProvider({ ...providerConfigFromEnv(process.env), ...fileConfig.model });
 */
export function providerConfigFromEnv(env: Readonly<Record<string, string | undefined>>): ProviderConfig {
  const pick = (k: string): string | undefined => (env[k] && env[k].trim() !== '' ? env[k].trim() : undefined);
  const baseURL = pick('OPENAI_BASE_URL');
  const apiKey = pick('OPENAI_API_KEY');
  const model = pick('TROUPE_MODEL');
  return { ...(baseURL ? { baseURL } : {}), ...(apiKey ? { apiKey } : {}), ...(model ? { model } : {}) };
}

/**
 * Build the node's model provider. The caller logs the choice (see describeProvider).
 *
 * @example
 * const provider = createProvider(providerConfigFromEnv(process.env), { logger });
 * logger.info(describeProvider(provider), 'model provider selected');
 */
export function createProvider(config: ProviderConfig = {}, deps: OpenAIProviderDeps = {}): ModelProvider {
  const mode = config.provider ?? 'auto';
  const configured = Boolean(config.baseURL) || Boolean(config.apiKey);
  if (mode === 'offline' || (mode === 'auto' && !configured)) {
    return new OfflineModel({ ...config.offline, ...(deps.logger ? { logger: deps.logger } : {}) });
  }
  if (!configured) {
    throw new TroupeError('TROUPE_ERR_CONFIG_INVALID', "model provider 'openai' needs a baseURL (OPENAI_BASE_URL) or an apiKey (OPENAI_API_KEY)");
  }
  const { provider: _mode, model, offline: _offline, ...rest } = config;
  const options: OpenAIProviderOptions = { ...withoutUndefined(rest), ...(model ? { defaultModel: model } : {}) };
  return new OpenAIProvider(options, deps);
}

/**
 * A loggable description of a provider; never includes the API key.
 *
 * @example
 * describeProvider(new OfflineModel()); // { provider: 'troupe-offline', offline: true, model: 'troupe-offline' }
 */
export function describeProvider(p: ModelProvider): { provider: string; offline: boolean; model: string; baseURL?: string } {
  return {
    provider: p.name,
    offline: p.offline,
    model: p.defaultModel,
    ...(p instanceof OpenAIProvider ? { baseURL: p.baseURL } : {}),
  };
}

