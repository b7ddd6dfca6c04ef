/**
 * External A2A agents: proxy agents whose model calls go to a remote A2A server through the
 * official @a2a-js/sdk client, behind outbound (SSRF) checks and the node's PII guard.
 */
export { externalAgentsModule, EXTERNAL_AGENTS_MODULE, type ExternalAgentsApi } from './module.js';
export { externalAgentsOptionsSchema, type ExternalAgentsOptions, type ExternalAgentsOptionsInput } from './options.js';
export { A2AProxyProvider, cardUrlOf, cardUrlsOf, type ProxyProviderDeps } from './proxy-provider.js';
export { RemoteAnswer } from './remote-task.js';
export { RemoteThreads, fingerprint, forgetThreads, THREADS_DB, type RemoteThread, type ThreadBacking } from './threads.js';
export { addressRefusal, checkOutboundUrl, checkUrlNow, guardedFetch, type OutboundPolicy } from './outbound.js';
export { cancelRemoteTask, type RemoteCancelOutcome, type RemoteTaskRef } from './remote-cancel.js';
export { conversationOf } from './conversation.js';
