import { z } from 'zod';
import { sealedSchema } from '../../storage/index.js';
import type { AgentSpecData } from './spec.js';

/** The LMDB database of persisted agent specs, keyed by name. */
export const SPEC_DB = 'agents';

/**
 * A persisted spec (the `agents` database, keyed by name), checked on read. Version 2 keeps
 * the provider's apiKey and headers out of `spec`, sealed in `secrets` with the data key;
 * version 1 (before) held them in the clear and is still read.
 */
export const specRecordSchema = z.object({
  v: z.union([z.literal(1), z.literal(2)]),
  spec: z.record(z.string(), z.unknown()),
  secrets: sealedSchema.optional(),
  journalKey: z.string().min(1).max(512),
  createdAt: z.number(),
});
export type SpecRecord = z.infer<typeof specRecordSchema>;

/** The secrets of a provider: what must not sit in the clear on disk. */
export interface ProviderSecrets {
  apiKey?: string;
  headers?: Record<string, string>;
}

/** A spec without its provider secrets, and those secrets (undefined when there are none). */
export function splitSecrets(spec: AgentSpecData): { spec: AgentSpecData; secrets: ProviderSecrets | undefined } {
  const p = spec.provider;
  if (!p || (p.apiKey === undefined && p.headers === undefined)) return { spec, secrets: undefined };
  const { apiKey, headers, ...rest } = p;
  return {
    spec: { ...spec, provider: rest },
    secrets: { ...(apiKey !== undefined ? { apiKey } : {}), ...(headers !== undefined ? { headers } : {}) },
  };
}

/**
 * What a sealed key is bound to: the agent, and where its key may go (provider kind, base
 * URL, token field). A record edited to send the key elsewhere no longer opens.
 */
export function secretContext(name: string, spec: Record<string, unknown>): string {
  const p = (spec.provider ?? {}) as Record<string, unknown>;
  return JSON.stringify(['agent', name, p.kind ?? null, p.baseURL ?? null, p.maxTokensField ?? null]);
}
