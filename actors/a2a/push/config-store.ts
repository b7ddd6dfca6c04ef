import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { TaskPushNotificationConfig } from '@a2a-js/sdk';
import { RequestMalformedError } from '@a2a-js/sdk/errors';
import type { PushNotificationStore, ServerCallContext, StoredPushNotificationConfig } from '@a2a-js/sdk/server';
import type { Logger } from 'pino';
import { TroupeError } from '../../../protocol/index.js';
import type { NodeStore, StoreDb } from '../../../storage/index.js';
import { scopeOf } from '../sdk-task-store.js';
import type { PushOptions } from './options.js';
import { checkPushUrl, type UrlPolicy } from './url-guard.js';

/** The LMDB database of push notification configs. */
export const PUSH_CONFIGS_DB = 'a2a.push.configs';

/** A stored config (validated on read and on save: sizes bounded). */
const configSchema = z.object({
  id: z.string().min(1).max(256),
  taskId: z.string().min(1).max(256),
  url: z.string().min(1).max(2_048),
  token: z.string().max(4_096).optional(),
  authentication: z.object({ scheme: z.string().max(64).optional(), credentials: z.string().max(8_192).optional() }).loose().optional(),
}).loose();
const recordSchema = z.object({ v: z.literal(1), wireVersion: z.string().min(1).max(16), config: configSchema });
type ConfigRecord = z.infer<typeof recordSchema>;

/** What an HTTP header value may hold (RFC 9110 field-value, as Node's http checks it). */
const HEADER_VALUE_RE = /^[\t\x20-\x7e\x80-\xff]*$/;

type Scope = { tenant: string; owner: string };
const taskKeyOf = (agent: string, scope: Scope, taskId: string): string => JSON.stringify([agent, scope.tenant, scope.owner, taskId]);

/**
 * A troupe coded error as the SDK's invalid-params error (JSON-RPC -32602, REST 400): the
 * code leads the message and rides in the ErrorInfo metadata.
 */
export function asInvalidParams(e: TroupeError): RequestMalformedError {
  return new RequestMalformedError({ message: `${e.code}: ${e.message}`, metadata: { code: e.code }, cause: e });
}

/**
 * Every push notification config of the node, per agent, tenant, owner and task: in LMDB
 * (`a2a.push.configs`, keys `[agent, tenant, owner, taskId, configId]`) with an in-memory
 * index (rebuilt on start), or in memory only on a node without a data dir. A config's URL is
 * checked against the SSRF policy when it is saved (and again at each delivery).
 *
 * @example
 * const configs = new PushConfigs(host.store, options, log);
 * const store = configs.storeFor('echo'); // the SDK's PushNotificationStore for one agent
 */
export class PushConfigs {
  private readonly index = new Map<string, Map<string, ConfigRecord>>();
  private readonly db: StoreDb | undefined;

  constructor(private readonly store: NodeStore | undefined, private readonly options: Pick<PushOptions, 'maxConfigsPerTask'> & UrlPolicy, log: Logger) {
    this.db = store?.db(PUSH_CONFIGS_DB);
    if (!this.db) return;
    for (const { key, value } of this.db.getRange({})) {
      const k = key as unknown[];
      const rec = recordSchema.safeParse(value);
      if (!Array.isArray(k) || k.length !== 5 || !rec.success) {
        log.warn({ key: String(key).slice(0, 200) }, 'a push notification config record failed validation; skipped');
        continue;
      }
      const [agent, tenant, owner, taskId] = k as [string, string, string, string];
      this.bucket(taskKeyOf(agent, { tenant, owner }, taskId), true)!.set(rec.data.config.id, rec.data);
    }
  }

  /** The SDK's `PushNotificationStore` for one agent's tasks. */
  storeFor(agent: string): PushNotificationStore {
    return {
      save: (taskId, ctx, cfg) => this.save(agent, ctx, taskId, cfg),
      load: async (taskId, ctx) => this.list(agent, scopeOf(ctx), taskId).map((s) => s.config),
      loadWithMetadata: async (taskId, ctx) => this.list(agent, scopeOf(ctx), taskId),
      delete: (taskId, ctx, configId) => this.delete(agent, scopeOf(ctx), taskId, configId ?? taskId),
    };
  }

  /** The configs of one task, with the wire version each was registered over (synchronous: the index). */
  list(agent: string, scope: Scope, taskId: string): StoredPushNotificationConfig[] {
    // no config at all (most nodes, most of the time): no key to build per task event
    if (this.index.size === 0) return [];
    const b = this.bucket(taskKeyOf(agent, scope, taskId), false);
    return b ? [...b.values()].map((r) => ({ config: TaskPushNotificationConfig.fromJSON(r.config), wireVersion: r.wireVersion })) : [];
  }

  /** True when no task has a config (a bucket emptied by deletes may linger: then false). */
  get empty(): boolean {
    return this.index.size === 0;
  }

  /** Configs stored (every agent and task). */
  get size(): number {
    let n = 0;
    for (const b of this.index.values()) n += b.size;
    return n;
  }

  /** Forget every config of a task (the task was pruned). */
  async dropTask(agent: string, scope: Scope, taskId: string): Promise<void> {
    const b = this.bucket(taskKeyOf(agent, scope, taskId), false);
    if (!b) return;
    for (const id of [...b.keys()]) await this.delete(agent, scope, taskId, id);
  }

  private async save(agent: string, ctx: ServerCallContext, taskId: string, cfg: TaskPushNotificationConfig): Promise<void> {
    const scope = scopeOf(ctx);
    try {
      await checkPushUrl(cfg.url, this.options);
    } catch (e) {
      throw e instanceof TroupeError ? asInvalidParams(e) : e;
    }
    // the SDK expects the id assigned in place
    if (!cfg.id) cfg.id = randomUUID();
    cfg.taskId = taskId;
    const json = TaskPushNotificationConfig.toJSON(cfg) as Record<string, unknown>;
    const parsed = configSchema.safeParse(json);
    if (!parsed.success) throw asInvalidParams(new TroupeError('TROUPE_ERR_A2A_PUSH_CONFIG_LIMIT', 'the push notification config is over its size limits (id 256, url 2048, token 4096, credentials 8192 characters)'));
    // sent as HTTP header values at each delivery: a CR, LF or other control character could never be sent
    const unsendable = [parsed.data.token, parsed.data.authentication?.scheme, parsed.data.authentication?.credentials].some((v) => v !== undefined && !HEADER_VALUE_RE.test(v));
    if (unsendable) throw asInvalidParams(new TroupeError('TROUPE_ERR_A2A_PUSH_CONFIG_INVALID', 'the push notification token, authentication scheme and credentials go in HTTP headers: no control characters (CR, LF, NUL...)'));
    const key = taskKeyOf(agent, scope, taskId);
    const existing = this.bucket(key, false);
    if (existing && !existing.has(cfg.id) && existing.size >= this.options.maxConfigsPerTask) {
      throw asInvalidParams(new TroupeError('TROUPE_ERR_A2A_PUSH_CONFIG_LIMIT', `task ${taskId.slice(0, 64)} already holds ${this.options.maxConfigsPerTask} push notification configs`));
    }
    const rec: ConfigRecord = { v: 1, wireVersion: ctx.requestedVersion || '0.3', config: parsed.data };
    if (this.store && this.db) await this.store.put(this.db, [agent, scope.tenant, scope.owner, taskId, cfg.id], rec);
    this.bucket(key, true)!.set(cfg.id, rec);
  }

  private async delete(agent: string, scope: Scope, taskId: string, configId: string): Promise<void> {
    const key = taskKeyOf(agent, scope, taskId);
    const b = this.bucket(key, false);
    if (!b?.has(configId)) return;
    if (this.store && this.db) await this.store.remove(this.db, [agent, scope.tenant, scope.owner, taskId, configId]);
    b.delete(configId);
    if (b.size === 0) this.index.delete(key);
  }

  private bucket(key: string, create: boolean): Map<string, ConfigRecord> | undefined {
    let b = this.index.get(key);
    if (!b && create) this.index.set(key, (b = new Map()));
    return b;
  }
}
