/**
 * The RACI audit log (seed 000 §5, seed 003's audit logger): hash-chained records in LMDB,
 * Ed25519-signed checkpoints witnessed by peers, query and verification.
 */
export { auditModule, AUDIT_MODULE } from './module.js';
export { AuditLog, type AuditApi, type AuditLogHost } from './audit-log.js';
export { auditOptionsSchema, type AuditOptionsInput, type AuditOptions } from './options.js';
export {
  auditRecordInputSchema, auditRecordSchema, canonicalJson, payloadDigest, parseRecord, raciFor, encodeRecord, encodeDraft, AUDIT_ACTION_RE,
  type AuditRecord, type AuditRecordInput,
} from './record.js';
export { toRecord } from './draft.js';
export { AuditSigningKey, AUDIT_KEY_FILE, verifySignature } from './signing-key.js';
export { checkpointText, makeCheckpoint, checkCheckpoint } from './checkpoint.js';
export { verifyOwnChain, type AuditVerification } from './verify.js';
export { queryRecords, type AuditQuery, type AuditPage } from './query.js';
export { AUDIT_ACTOR_PATH, auditMessageSchema, type AuditMessage } from './audit-actor.js';
export { auditCommand } from './cli.js';
