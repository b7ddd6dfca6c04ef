/**
 * Agent-to-agent messages as actor messages (EXECUTE, DELEGATE, CONTEXT_SHARE,
 * STATUS_QUERY), the built-in `delegate` tool with its timeouts, retries, breakers and
 * fallback, and discovery of the cluster's agents by skill and text.
 */
export { startDelegation, A2A_ENDPOINT_NAME, A2A_ENDPOINT_PATH, type Delegation, type DelegationApi, type DelegationAgents, type DelegationGateway } from './service.js';
export { A2AInbox, MAX_REMEMBERED, type ContextFilter } from './inbox.js';
export { A2AClient } from './client.js';
export { Delegator, TRIPPING_CODES, RETRIED_CODES, type DelegationRequest, type DelegationOutcome, type DelegationEvent } from './delegator.js';
export { delegateTool, DELEGATE_TOOL } from './delegate-tool.js';
export { searchAgents, discovered, discoveryQuerySchema, discoverTool, ClusterCatalog, type DiscoveryQuery } from './discovery.js';
