/**
 * A2A: every agent of the node speaks A2A 1.0 and 0.3 over JSON-RPC through the official
 * SDK (`@a2a-js/sdk`), each task a persistent actor behind the SDK's TaskStore.
 */
export { a2aModule, a2aModuleOptionsSchema, A2A_MODULE, type A2AApi, type A2AModuleOptions } from './module.js';
export { agentCard, cardBody, type CardContext } from './card.js';
export { AgentTaskExecutor, type AgentRunPort } from './executor.js';
export { TaskActors, DEFAULT_MAX_TASKS } from './task-store.js';
export { ActorTaskStore, scopeOf } from './sdk-task-store.js';
export { taskActorSpec, taskJsonSchema, taskMessageSchema, type TaskJson, type TaskMessage } from './task-actor.js';
export { recoverTasks, INTERRUPTED_CODE } from './recovery.js';
export { registerA2ARoutes, ownerOfKey, type A2AEndpoint, type A2ARouteDeps } from './routes.js';
export { FollowUpGuard } from './follow-ups.js';
export { CancelReporting, TaskCancels, type TaskCanceledListener } from './cancels.js';
export { REQUEST_INPUT_TOOL } from './executor.js';
export type { ClaimVerdict, SendResponse } from './task-actor.js';
export {
  startDelegation, A2A_ENDPOINT_PATH, A2AInbox, A2AClient, Delegator, delegateTool, DELEGATE_TOOL, searchAgents, discovered, discoveryQuerySchema,
  type DelegationApi, type DiscoveryQuery, type ContextFilter, type DelegationOutcome, type DelegationEvent,
} from './delegation/index.js';
export { externalAgentsModule, externalAgentsOptionsSchema, EXTERNAL_AGENTS_MODULE, A2AProxyProvider, type ExternalAgentsApi, type ExternalAgentsOptions, type ExternalAgentsOptionsInput } from './external/index.js';
export { PushService, pushOptionsSchema, checkPushUrl, JWKS_PATH, TOKEN_HEADER, ID_HEADER, type PushOptions, type PushOptionsInput, type PushStats, type UrlPolicy } from './push/index.js';
export { registerRestRoutes, RestOperations, REST_BASE } from './rest/index.js';
export { NODE_AGENT, WORKFLOW_ROUTE, type A2AWorkflows } from './router.js';
