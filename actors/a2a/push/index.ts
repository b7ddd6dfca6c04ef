/**
 * A2A push notifications: configs per task in LMDB, a durable outbox delivered with retries
 * and backoff, signed (token header, Bearer credentials or a JWT of the node's key), and an
 * SSRF guard on every URL.
 */
export { PushService } from './service.js';
export { pushOptionsSchema, backoffMs, type PushOptions, type PushOptionsInput } from './options.js';
export { PushConfigs, PUSH_CONFIGS_DB, asInvalidParams } from './config-store.js';
export { PushOutbox, PUSH_OUTBOX_DB, pushEntrySchema, type PushEntry } from './outbox.js';
export { PushDelivery, TOKEN_HEADER, ID_HEADER, type PushStats } from './delivery.js';
export { PushSigner, JWKS_PATH } from './signer.js';
export { OutboxPushSender } from './sender.js';
export { pushMetrics } from './metrics.js';
export { checkPushUrl, addressRefusal, hostAllowed, parsePushUrl, guardedLookup, type UrlPolicy } from './url-guard.js';
