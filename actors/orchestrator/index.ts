/**
 * Orchestration (issue 14): workflow plans (DAGs) checked with zod and graph checks, a
 * deterministic offline planner, one persistent session actor per workflow that runs the
 * DAG's nodes as agent runs (behind {@link NodeRunner}), human approvals that resume exactly
 * once, and the `/v1/sessions` and `/v1/approvals` routes.
 */
export { orchestratorModule, ORCHESTRATOR_MODULE, type OrchestratorModuleOptions } from './module.js';
export { Orchestrator, type OrchestratorDeps, type StartOptions } from './orchestrator.js';
export { orchestratorOptionsSchema, type OrchestratorOptions, type OrchestratorOptionsInput } from './options.js';
export {
  dagSchema, dagNodeSchema, approvalSpecSchema, conditionSchema, conditionHolds, withApprovalPolicy, DAG_LIMITS, NODE_ID_RE,
  type Dag, type DagInput, type DagNode, type ApprovalSpec, type Condition,
} from './dag.js';
export { validateDag, dagProblems, graphOf, type Graph } from './graph.js';
export { OfflinePlanner, planOffline, splitRequest, type Planner, type PlanRequest, type AgentCard, type CardSkill } from './planner.js';
export { GatewayNodeRunner, type NodeRunner, type NodeTask, type NodeOutput } from './runner.js';
export { sessionBehaviour, type SessionDeps } from './session-actor.js';
export { sessionMessageSchema, decisionSchema, type SessionMessage, type SessionProgress, type Decision } from './session-messages.js';
export {
  applySessionEvent, emptySession, sessionEventSchema, approvalRecordSchema, SESSION_STATUSES, TERMINAL_SESSION,
  type SessionState, type SessionEvent, type SessionStatus, type NodeState, type NodeStatus, type ApprovalRecord,
} from './session-state.js';
export { approvalIdOf, sessionOfApproval } from './session-approvals.js';
export { revisionProblems, type ReviseRequest } from './session-revision.js';
export { LmdbSessionIndex, MemorySessionIndex, SESSIONS_DB, sessionSummarySchema, type SessionIndex, type SessionSummary } from './session-index.js';
export { sessionView, approvalView, summaryView } from './views.js';
export { orchestratorMcpTools } from './mcp-tools.js';
export { ModelPlanner, type ModelPlannerOptions } from './model-planner.js';
export { modelClassifier } from './model-classifier.js';
export { ChatRouter, classifyHeuristic, decideRoute, type RouteInput, type RouteDecision, type Classifier } from './router.js';
export { A2ANodeRunner, ORCHESTRATOR_A2A_USER } from './a2a-runner.js';
export { WorkflowTasks } from './a2a-view.js';
export { decisionOf } from './a2a-decision.js';
export { withApprovals, agentApprovals, type ApprovalPolicy } from './approval-policy.js';
