/**
 * Model providers: one small interface (ModelProvider) with an OpenAI-compatible HTTP
 * implementation and a deterministic offline one.
 */
export type { ModelProvider, ModelRequest, CompleteOptions } from './provider.js';
export { OpenAIProvider, openAIProviderOptionsSchema, type OpenAIProviderOptions, type OpenAIProviderDeps } from './openai.js';
export { OfflineModel, OFFLINE_MODEL_NAME, planAnswer, firstJsonObject, type OfflineModelOptions } from './offline.js';
export { createProvider, providerConfigFromEnv, describeProvider, type ProviderConfig } from './create.js';
export { StreamAccumulator, normalizeFinishReason, type ChunkLike } from './accumulator.js';
export { parseRetryAfter, backoffDelay, realSleep, type Sleep, type HeaderBag } from './retry.js';
export { splitTokens, estimateTokens, estimatePromptTokens, messageText } from './tokens.js';
export type {
  ChatMessage,
  ToolSpec,
  ToolCall,
  ToolChoice,
  ModelDelta,
  ModelResult,
  Usage,
  FinishReason,
  ResponseFormat,
} from '../../../protocol/openai.js';
