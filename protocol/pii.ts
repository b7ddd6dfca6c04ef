import { z } from 'zod';

/**
 * PII policies (seed 000 §3.4): what happens to context that leaves an agent for another
 * (A2A CONTEXT_SHARE, a message to an external A2A agent) when it holds personal data or
 * secrets. Schemas only: the detector and the guard live in actors/pii/.
 */

/** What the detector finds. `ip_address` covers IPv4 and IPv6; `credential` API keys and tokens (sk-, ghp_, AKIA, JWT, ...). */
export const PII_KINDS = ['email', 'phone', 'card', 'iban', 'national_id', 'ip_address', 'credential'] as const;
export const piiKindSchema = z.enum(PII_KINDS);
export type PiiKind = z.infer<typeof piiKindSchema>;

/** BLOCK refuses the share, REDACT replaces each finding, WARN passes it and logs, ALLOW passes it unscanned. */
export const PII_ACTIONS = ['BLOCK', 'REDACT', 'WARN', 'ALLOW'] as const;
export const piiActionSchema = z.enum(PII_ACTIONS);
export type PiiAction = z.infer<typeof piiActionSchema>;

/**
 * One policy: an action and the kinds it looks for (default: all). A bare action is
 * shorthand for `{ action }`.
 *
 * @example
 * piiPolicySchema.parse('REDACT'); // { action: 'REDACT' }
 * piiPolicySchema.parse({ action: 'BLOCK', kinds: ['card', 'credential'] });
 */
export const piiPolicySchema = z.union([
  piiActionSchema.transform((action): { action: PiiAction; kinds?: PiiKind[] } => ({ action })),
  z.strictObject({
    action: piiActionSchema,
    kinds: z.array(piiKindSchema).min(1).max(PII_KINDS.length).optional(),
  }),
]);
export type PiiPolicy = z.output<typeof piiPolicySchema>;
export type PiiPolicyInput = z.input<typeof piiPolicySchema>;

const partyName = z.string().regex(/^[A-Za-z0-9*][A-Za-z0-9._:*-]{0,127}$/, 'an agent name, or * for any');

/**
 * An agent spec's `pii`: the policy of context leaving this agent (`policy`), and per
 * receiving agent (`to`), which wins over `policy` for that receiver.
 *
 * @example
 * { pii: { policy: 'REDACT', to: { auditor: 'ALLOW' } } }
 */
export const agentPiiSchema = z.strictObject({
  policy: piiPolicySchema.optional(),
  to: z.record(partyName, piiPolicySchema).refine((r) => Object.keys(r).length <= 64, 'at most 64 receivers').optional(),
});
export type AgentPii = z.output<typeof agentPiiSchema>;
