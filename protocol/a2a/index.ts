/**
 * Agent-to-agent messages (EXECUTE, DELEGATE, CONTEXT_SHARE, STATUS_QUERY and their
 * answers) as zod-typed actor messages, the call-chain trace records of delegation, W3C
 * traceparent helpers, and the delegation options of an agent spec.
 */
export * from './messages.js';
export * from './trace.js';
export * from './delegation.js';
