/**
 * Model providers: one small interface (ModelProvider) with an OpenAI-compatible HTTP
 * implementation and a deterministic offline one.
 */
export type { ModelProvider, ModelRequest, CompleteOptions, CancelSignal } from './provider.js';
export { RunAbort } from './provider.js';
export { OpenAIProvider, type OpenAIProviderOptions, type OpenAIProviderDeps } from './openai.js';
export { OfflineModel, OFFLINE_MODEL_NAME, type OfflineModelOptions } from './offline.js';
export { admitProvider } from './admit.js';
export { createProvider, providerConfigFromEnv, describeProvider, type ProviderConfig } from './create.js';
export type { Sleep } from './retry.js';
export { splitTokens, estimateTokens, collapseSpaces } from './tokens.js';
export type { ModelDelta, ModelResult } from '../../../protocol/index.js';
