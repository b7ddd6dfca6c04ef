/**
 * PII policies (seed 000 §3.4): a detector (emails, phone numbers, cards with Luhn, IBANs
 * with mod-97, US SSNs, IPv4/IPv6 addresses, API keys and tokens), the pure
 * {@link applyPiiPolicy} (BLOCK / REDACT / WARN / ALLOW), and the node's guard that applies
 * the policy of a share and records the decision.
 */
export { detectPii, applyPiiPolicy, countKinds, redaction, DEFAULT_MAX_SCAN_CHARS, type PiiFinding, type PiiOutcome } from './detect.js';
export { applyPiiPolicyToValue, MAX_CONTEXT_DEPTH, MAX_CONTEXT_STRINGS, type PiiValueFinding, type PiiValueOutcome } from './structured.js';
export { DETECTORS, luhn, ibanValid, ssnValid, type Detector } from './detectors.js';
export { PiiGuard, type PiiShare, type PiiGuardDeps, type PiiPolicySource } from './guard.js';
export { piiOptionsSchema, type PiiOptions, type PiiOptionsInput } from './options.js';
export { piiModule, PII_MODULE } from './module.js';
export { PiiMetrics } from './metrics.js';
export { PII_KINDS, PII_ACTIONS, piiPolicySchema, agentPiiSchema, type PiiKind, type PiiAction, type PiiPolicy, type PiiPolicyInput, type AgentPii } from '../../protocol/index.js';
