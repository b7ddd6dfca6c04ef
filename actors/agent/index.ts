/**
 * Agent actors: a spec (instructions, model, provider, tools, skills, supervision, limits)
 * becomes a supervised, persistent actor that runs a tool loop against a model provider and
 * streams its answer back to whoever asked, as messages (the run protocol). The agents
 * module (`agentsModule`) puts them on a node.
 */
export { AgentRegistry, type ConversationView, type AgentHost, type AgentRegistryOptions, type AgentRunner } from './registry.js';
export { DELEGATE_TOOL_REF, type ToolSource } from './tool-sources.js';
export { DEFAULT_PASSIVATE_AFTER_MS, MAX_PASSIVATE_AFTER_MS, IdleSweep, type AgentActivity, type HeldRuns } from './passivation.js';
export { AgentPassivation } from './agent-passivation.js';
export { SharedParts } from './shared-parts.js';
export { agentsModule, AGENTS_MODULE, type AgentsModuleOptions } from './module.js';
export { AgentDirectory, DirectoryCommand, DIRECTORY_PATH, type DirectoryOp } from './directory.js';
export { summaryOf, agentSummarySchema, type AgentInfo, type AgentSummary, type AgentDescription } from './info.js';
export type { RunRequest, RunOptions } from './run-request.js';
export { agentBehaviour, type AgentDeps } from './agent-actor.js';
export { agentInboxSchema, type AgentInbox } from './agent-inbox.js';
export { AgentEvents, type AgentEvent, type AgentEventListener } from './events.js';
export {
  agentSpecSchema, parseAgentSpec, AGENT_NAME_RE, TOOL_REF_RE,
  type AgentSpecInput, type AgentSpecData, type AgentLimits, type AgentSkill, type ParsedAgentSpec,
} from './spec.js';
export {
  builtinTools, clockTool, calculatorTool, evaluateArithmetic, runTool, toolSpecOf, validateTool,
  type AgentTool, type ToolContext, type ToolOutcome,
} from './tools.js';
export { executeRun, type RunPlan, type RunProduct } from './run.js';
export { memoryReducer, emptyMemory, newMessages, trimHistory, windowHistory, memoryUsage, DEFAULT_MEMORY_BOUNDS, type MemoryBounds, type AgentMemory, type Conversation, type MemoryEvent } from './memory.js';
export {
  agentMessageSchema, requesterMessageSchema, runMessageSchema, runResultSchema, acceptedSchema,
  type AgentMessage, type AgentStatus, type RequesterMessage, type RunAccepted, type RunMessage, type RunMessageInput, type RunParams, type RunA2A, type RunResult, type TraceHop,
} from './messages.js';
export {
  OpenAIProvider, OfflineModel, OFFLINE_MODEL_NAME, createProvider, providerConfigFromEnv, describeProvider,
  type ModelProvider, type ModelRequest, type CompleteOptions, type ProviderConfig, type OpenAIProviderOptions, type OfflineModelOptions,
} from './model/index.js';
export type { ChatMessage, ModelDelta, ModelResult, ToolCall, ToolSpec, ToolChoice, Usage, FinishReason } from '../../protocol/index.js';
export { UpstreamGuard, type UpstreamState, type UpstreamOptions } from './upstream/guard.js';
export { UpstreamBreaker, type BreakerState, type BreakerOptions } from './upstream/breaker.js';
export { TokenBudget, agentBudgetSchema, type AgentBudget, type BudgetUsage } from './upstream/budget.js';
export { UPSTREAM_FAULT_MODES, upstreamFaultSchema, type UpstreamFault, type UpstreamFaultInput, type UpstreamFaultMode } from './upstream/fault.js';
export type { ProviderKind, ProviderMaker, AgentOrigin } from './provider-kinds.js';
export { agentApprovalSchema, type AgentApproval } from './spec.js';
export { agentActorPath } from './agent-target.js';
export { AgentResultMessage, AgentDeltaMessage, AgentErrorMessage } from './requester-messages.js';
export { AgentRunMessage, checkRunMessage } from './run-message.js';
