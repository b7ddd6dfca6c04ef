import { z } from 'zod';
import { piiPolicySchema } from '../../protocol/index.js';
import { DEFAULT_MAX_SCAN_CHARS } from './detect.js';

const party = z.string().regex(/^[A-Za-z0-9*][A-Za-z0-9._:*-]{0,127}$/, 'an agent name, or * for any');

/**
 * The pii module's options (config key `pii`). Resolution for context from agent A to B,
 * most specific first: a `pairs` rule (A->B, then A->*, then *->B), A's spec `pii.to[B]`,
 * A's spec `pii.policy`, `agents[A]`, then `external` for an external (proxy) receiver or
 * `default`.
 *
 * @example
 * piiModule({ default: 'WARN', external: 'REDACT', pairs: [{ from: 'hr', to: '*', policy: 'BLOCK' }] });
 */
export const piiOptionsSchema = z.strictObject({
  default: piiPolicySchema.default({ action: 'WARN' }),
  /** Context sent to an external A2A agent (a proxy agent's remote server). */
  external: piiPolicySchema.default({ action: 'REDACT' }),
  agents: z.record(party, piiPolicySchema).refine((r) => Object.keys(r).length <= 1024, 'at most 1024 agents').default({}),
  pairs: z.array(z.strictObject({ from: party, to: party, policy: piiPolicySchema })).max(256).default([]),
  /** Longest text scanned; a longer one is refused (TROUPE_ERR_PII_TEXT_TOO_LARGE) unless its policy is ALLOW. */
  maxScanChars: z.number().int().min(1_000).max(50_000_000).default(DEFAULT_MAX_SCAN_CHARS),
});
export type PiiOptionsInput = z.input<typeof piiOptionsSchema>;
export type PiiOptions = z.output<typeof piiOptionsSchema>;
