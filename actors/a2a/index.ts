/**
 * A2A: every agent of the node speaks A2A 1.0 and 0.3 over JSON-RPC through the official
 * SDK (`@a2a-js/sdk`), each task a persistent actor behind the SDK's TaskStore.
 */
export { a2aModule, a2aModuleOptionsSchema, A2A_MODULE, type A2AApi, type A2AModuleOptions } from './module.js';
export { agentCard, cardBody, type CardContext } from './card.js';
export { AgentTaskExecutor, type AgentRunPort } from './executor.js';
export { ActorTaskStore, TaskActors, scopeOf, DEFAULT_MAX_TASKS } from './task-store.js';
export { taskActorSpec, taskJsonSchema, taskMessageSchema, type TaskJson, type TaskMessage } from './task-actor.js';
export { recoverTasks, INTERRUPTED_CODE } from './recovery.js';
export { registerA2ARoutes, ownerOfKey, type A2AEndpoint, type A2ARouteDeps } from './routes.js';
export { FollowUpGuard } from './follow-ups.js';
export { REQUEST_INPUT_TOOL } from './executor.js';
export type { ClaimVerdict, SendResponse } from './task-actor.js';
export { NODE_AGENT, WORKFLOW_ROUTE, type A2AWorkflows } from './router.js';
