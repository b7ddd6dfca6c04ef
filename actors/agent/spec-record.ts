import type { Logger } from 'pino';
import { z } from 'zod';
import { TroupeError, describeIssues } from '../../protocol/index.js';
import { SecretBox, corruptRecord, sealedSchema, type NodeStore } from '../../storage/index.js';
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
  /** The headers of an external A2A agent (`a2a.headers`), sealed like a provider's. */
  a2aHeaders?: Record<string, string>;
}

/** A spec without its provider secrets, and those secrets (undefined when there are none). */
export function splitSecrets(spec: AgentSpecData): { spec: AgentSpecData; secrets: ProviderSecrets | undefined } {
  const p = spec.provider;
  const a2aHeaders = spec.a2a?.headers;
  if ((!p || (p.apiKey === undefined && p.headers === undefined)) && a2aHeaders === undefined) return { spec, secrets: undefined };
  const { apiKey, headers, ...rest } = p ?? {};
  return {
    spec: { ...spec, ...(p ? { provider: rest as NonNullable<AgentSpecData['provider']> } : {}), ...(spec.a2a ? { a2a: withoutHeaders(spec.a2a) } : {}) },
    secrets: { ...(apiKey !== undefined ? { apiKey } : {}), ...(headers !== undefined ? { headers } : {}), ...(a2aHeaders !== undefined ? { a2aHeaders } : {}) },
  };
}

function withoutHeaders<T extends { headers?: unknown }>(o: T): Omit<T, 'headers'> {
  const { headers: _headers, ...rest } = o;
  return rest;
}

/**
 * What a sealed key is bound to: the agent, and where its key may go (provider kind, base
 * URL, token field). A record edited to send the key elsewhere no longer opens.
 */
export function secretContext(name: string, spec: Record<string, unknown>): string {
  const p = (spec.provider ?? {}) as Record<string, unknown>;
  const a2a = spec.a2a as { url?: unknown } | undefined;
  // an external agent's headers are bound to its URL too (absent for other agents: their records still open)
  return JSON.stringify(['agent', name, p.kind ?? null, p.baseURL ?? null, p.maxTokensField ?? null, ...(a2a ? [a2a.url ?? null] : [])]);
}

/**
 * The persisted specs of durable agents (the `agents` database): records sealed with the
 * data key on the way in, checked and opened on the way out.
 *
 * @example
 * const specs = new AgentSpecStore(store, dataKey, logger);
 * await specs.put('helper', specs.record(data, 'agent/helper/1', Date.now()));
 */
export class AgentSpecStore {
  private readonly box: SecretBox | undefined;

  constructor(readonly store: NodeStore, dataKey: string | undefined, private readonly logger: Logger) {
    this.box = dataKey === undefined ? undefined : new SecretBox(dataKey);
  }

  /** The record of a new durable agent; TROUPE_ERR_AGENT_INVALID_SPEC for secrets without a data key. */
  record(data: AgentSpecData, journalKey: string, createdAt: number): SpecRecord {
    const { spec: stored, secrets } = splitSecrets(data);
    if (secrets && !this.box) {
      throw new TroupeError('TROUPE_ERR_AGENT_INVALID_SPEC', `agent ${data.name}: a durable agent's provider apiKey and headers (and an external agent's a2a headers) are kept encrypted at rest, and this node has no data key (set TROUPE_DATA_KEY)`, { details: { param: data.a2a?.headers !== undefined ? 'a2a.headers' : 'provider' } });
    }
    const spec = stored as unknown as Record<string, unknown>;
    return { v: 2, spec, ...(secrets ? { secrets: this.box!.seal(secrets, secretContext(data.name, spec)) } : {}), journalKey, createdAt };
  }

  put(name: string, record: SpecRecord): Promise<void> {
    return this.store.put(this.store.db(SPEC_DB), name, record).then(() => undefined);
  }

  remove(name: string): Promise<void> {
    return this.store.remove(this.store.db(SPEC_DB), name).then(() => undefined);
  }

  get closed(): boolean {
    return this.store.closed;
  }

  /** Every stored spec, checked and opened (a record that fails is the thrown error's). */
  *all(): Generator<{ name: string; open: () => { spec: Record<string, unknown>; rec: SpecRecord } }> {
    for (const { key, value } of this.store.db(SPEC_DB).getRange({})) {
      const name = String(key);
      yield {
        name,
        open: () => {
          const r = specRecordSchema.safeParse(value);
          if (!r.success) throw corruptRecord(SPEC_DB, key, undefined, describeIssues(r.error));
          return { spec: this.unseal(name, r.data), rec: r.data };
        },
      };
    }
  }

  /**
   * A version 1 record (secrets in the clear, from before they were sealed) is written again
   * as version 2 once a data key can seal them; without one the node says so at every start.
   */
  upgrade(data: AgentSpecData, rec: SpecRecord): void {
    if (rec.v !== 1) return;
    if (splitSecrets(data).secrets && !this.box) {
      this.logger.warn({ agent: data.name }, 'this agent\'s provider secrets are stored in the clear (an older record); set TROUPE_DATA_KEY to seal them');
      return;
    }
    this.put(data.name, this.record(data, rec.journalKey, rec.createdAt)).catch((e: unknown) => this.logger.warn({ err: e, agent: data.name }, 'could not rewrite an agent record sealed'));
  }

  /** A stored spec with its provider secrets opened again (version 2 records). */
  private unseal(name: string, rec: SpecRecord): Record<string, unknown> {
    if (rec.secrets === undefined) return rec.spec;
    if (!this.box) {
      throw new TroupeError('TROUPE_ERR_STORAGE_SECRET', `agent ${name} keeps its provider secrets encrypted and this node has no data key (set TROUPE_DATA_KEY)`);
    }
    const { a2aHeaders, ...secrets } = this.box.open(rec.secrets, secretContext(name, rec.spec)) as ProviderSecrets;
    const out: Record<string, unknown> = Object.keys(secrets).length > 0 ? { ...rec.spec, provider: { ...(rec.spec.provider as Record<string, unknown> | undefined), ...secrets } } : { ...rec.spec };
    if (a2aHeaders !== undefined) out.a2a = { ...(rec.spec.a2a as Record<string, unknown> | undefined), headers: a2aHeaders };
    return out;
  }
}
