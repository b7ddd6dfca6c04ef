import { Task, type ListTasksRequest, type ListTasksResponse } from '@a2a-js/sdk';
import { RequestMalformedError } from '@a2a-js/sdk/errors';
import { resolveUserScope, type ServerCallContext, type TaskStore } from '@a2a-js/sdk/server';
import type { TaskJson } from './task-actor.js';
import type { TaskActors } from './task-store.js';

/** Tasks listed per page at most, and by default (the spec's bounds). */
const MAX_PAGE = 100;
const DEFAULT_PAGE = 50;

/**
 * Call-context key: a blocking send with no push config (its caller is told of nothing but
 * where the task ends). Its task's steps before that end are kept in memory and written with
 * it (see {@link TaskActors.save}).
 */
export const BLOCKING = 'troupe.a2a.blocking';
/** Call-context key: called once a save of the call's task is done (a recorded call's agent runs only then). */
export const WRITTEN = 'troupe.a2a.written';

/**
 * The SDK's `TaskStore` over task actors: every save of a task is an ask to the task's own
 * persistent actor (which journals it), and a projection (`a2a.tasks` in LMDB, or memory on
 * a node without a data dir) serves listing and finds tasks after a restart. Keys are scoped
 * by agent, tenant and owner, so a caller only ever sees its own tasks.
 *
 * @example
 * const store = new ActorTaskStore(host, 'echo', tasks);
 * await store.save(task, ctx);
 */
export class ActorTaskStore implements TaskStore {
  constructor(private readonly agent: string, private readonly tasks: TaskActors) {}

  async save(task: Task, ctx: ServerCallContext): Promise<void> {
    try {
      await this.tasks.save(this.agent, scopeOf(ctx), Task.toJSON(task) as TaskJson, ctx.state.get(BLOCKING) === true);
    } finally {
      (ctx.state.get(WRITTEN) as (() => void) | undefined)?.();
    }
  }

  async load(taskId: string, ctx: ServerCallContext): Promise<Task | undefined> {
    const json = await this.tasks.load(this.agent, scopeOf(ctx), taskId);
    return json ? Task.fromJSON(json) : undefined;
  }

  async list(params: ListTasksRequest, ctx: ServerCallContext): Promise<ListTasksResponse> {
    const { tenant, owner } = scopeOf(ctx);
    const pageSize = Math.min(MAX_PAGE, params.pageSize && params.pageSize > 0 ? params.pageSize : DEFAULT_PAGE);
    let all = this.tasks.entries(this.agent, tenant, owner);
    if (params.contextId) all = all.filter((e) => e.contextId === params.contextId);
    if (params.status) all = all.filter((e) => e.state === params.status);
    if (params.statusTimestampAfter) {
      const after = Date.parse(params.statusTimestampAfter);
      if (Number.isFinite(after)) all = all.filter((e) => Date.parse(e.ts) > after);
    }
    all.sort((a, b) => (a.ts === b.ts ? (a.id < b.id ? -1 : 1) : a.ts < b.ts ? 1 : -1));
    let start = 0;
    if (params.pageToken) {
      // the first task after the cursor's (newest first, then by id), so a cursor whose task
      // was pruned meanwhile still pages on; one that is not ours is refused (-32602)
      const cursor = /^([^|]{1,64})\|(.{1,256})$/s.exec(Buffer.from(params.pageToken.slice(0, 1_024), 'base64url').toString('utf8'));
      if (!cursor || !Number.isFinite(Date.parse(cursor[1]!))) throw new RequestMalformedError('pageToken is not a token this server gave');
      const [, ts, id] = cursor as unknown as [string, string, string];
      const i = all.findIndex((e) => e.ts < ts || (e.ts === ts && e.id > id));
      start = i < 0 ? all.length : i;
    }
    const page = all.slice(start, start + pageSize);
    const last = page[page.length - 1];
    const more = start + pageSize < all.length;
    const historyLength = params.historyLength;
    return {
      tasks: page.map((e) => {
        const t = Task.fromJSON(e.task);
        if (historyLength !== undefined) t.history = historyLength > 0 ? t.history.slice(-historyLength) : [];
        if (!params.includeArtifacts) t.artifacts = [];
        return t;
      }),
      nextPageToken: more && last ? Buffer.from(`${last.ts}|${last.id}`, 'utf8').toString('base64url') : '',
      pageSize,
      totalSize: all.length,
    };
  }
}

/** The caller's scope: tenant and owner (the authenticated user, or `unknown`). */
export function scopeOf(ctx: ServerCallContext): { tenant: string; owner: string } {
  return { tenant: ctx.tenant ?? '', owner: resolveUserScope(ctx) };
}
