/**
 * Agent actors: a spec (instructions, model, provider, tools, skills, supervision, limits)
 * becomes a supervised, persistent actor that runs a tool loop against a model provider and
 * streams its answer back to whoever asked, as messages.
 */
export { AgentRegistry, type ConversationView, type AgentInfo, type AgentSummary, type AgentHost, type AgentRegistryOptions } from './registry.js';
export { AgentClient, type RunRequest, type RunOptions } from './client.js';
export { agentBehaviour, type AgentDeps } from './agent-actor.js';
export { AgentEvents, type AgentEvent, type AgentEventListener } from './events.js';
export {
  agentSpecSchema, parseAgentSpec, AGENT_NAME_RE,
  type AgentSpecInput, type AgentSpecData, type AgentLimits, type AgentSkill, type ParsedAgentSpec,
} from './spec.js';
export {
  builtinTools, clockTool, calculatorTool, evaluateArithmetic, runTool, toolSpecOf, validateTool,
  type AgentTool, type ToolContext, type ToolOutcome,
} from './tools.js';
export { executeRun, type RunPlan, type RunProduct } from './run.js';
export { memoryReducer, emptyMemory, newMessages, trimHistory, windowHistory, memoryUsage, DEFAULT_MEMORY_BOUNDS, type MemoryBounds, type AgentMemory, type Conversation, type MemoryEvent } from './memory.js';
export {
  agentMessageSchema, requesterMessageSchema, runMessageSchema, runResultSchema,
  type AgentMessage, type AgentStatus, type RequesterMessage, type RunMessage, type RunMessageInput, type RunParams, type RunResult, type TraceHop,
} from './messages.js';
export {
  OpenAIProvider, OfflineModel, OFFLINE_MODEL_NAME, createProvider, providerConfigFromEnv, describeProvider,
  type ModelProvider, type ModelRequest, type CompleteOptions, type ProviderConfig, type OpenAIProviderOptions, type OfflineModelOptions,
} from './model/index.js';
export type { ChatMessage, ModelDelta, ModelResult, ToolCall, ToolSpec, ToolChoice, Usage, FinishReason } from '../../protocol/openai.js';
