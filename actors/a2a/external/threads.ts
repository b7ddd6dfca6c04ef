import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { ChatMessage } from '../../../protocol/index.js';
import type { NodeStore } from '../../../storage/index.js';

/** Where a conversation stands with the remote agent: its context, and the task a follow-up continues. */
export interface RemoteThread {
  contextId: string;
  /** The remote task: continued by the next message while it waits (input-required), else referenced. */
  taskId: string;
  /** The task waits for input: the next message goes to it. */
  open: boolean;
}

/** The LMDB database of proxy agents' remote threads, keyed `[agent, fingerprint]`. */
export const THREADS_DB = 'a2a-external-threads';

/** A stored thread, checked on read. */
const storedThreadSchema = z.object({
  contextId: z.string().max(1024),
  taskId: z.string().max(1024),
  open: z.boolean(),
  /** When it was last remembered (clock ms): the oldest go first past the bound. */
  at: z.number(),
});

/** The text of a chat message's content, as the thread key sees it. */
export function messageText(m: ChatMessage): string {
  const c = m.content;
  if (c === null || c === undefined) return '';
  if (typeof c === 'string') return c;
  return c.map((p) => (p.type === 'text' ? p.text : `[${p.type}]`)).join('');
}

/** A fingerprint of a conversation: its messages' roles and texts. */
export function fingerprint(messages: ReadonlyArray<ChatMessage>): string {
  const h = createHash('sha256');
  for (const m of messages) {
    if (m.role === 'system' || m.role === 'developer') continue;
    h.update(m.role).update('\u0000').update(messageText(m)).update('\u0001');
  }
  return h.digest('base64url');
}

/** Where one proxy agent's threads are kept beyond its memory (the node's LMDB store). */
export interface ThreadBacking {
  store: NodeStore;
  agent: string;
  now: () => number;
  logger: Logger;
}

/**
 * The remote threads of one proxy agent, keyed by the conversation they continue. A model
 * provider sees the whole conversation at every call, not its id: the key is the fingerprint
 * of the conversation up to the new message, which is the fingerprint the previous call
 * stored for the conversation that ended with its answer. Bounded (least recently used go
 * first). With a store, threads are written before the answer is returned (so before the
 * agent journals the turn) and read back when the agent starts again: a conversation
 * waiting on a remote task's question after a restart still answers that task. A
 * conversation whose thread is gone, or whose history the agent trimmed, starts a new remote
 * context.
 *
 * @example
 * await threads.remember([...history, user, { role: 'assistant', content: answer }], { contextId, taskId, open: false });
 * threads.find([...history, user, { role: 'assistant', content: answer }]); // the thread, at the next call
 */
export class RemoteThreads {
  private readonly byKey = new Map<string, RemoteThread>();

  constructor(private readonly max: number, private readonly backing?: ThreadBacking) {
    if (backing && !backing.store.closed) this.load(backing);
  }

  /** The thread a conversation (everything before its new message) continues. */
  find(before: ReadonlyArray<ChatMessage>): RemoteThread | undefined {
    const key = fingerprint(before);
    const t = this.byKey.get(key);
    if (t) {
      this.byKey.delete(key);
      this.byKey.set(key, t);
    }
    return t;
  }

  /** Remember the thread of a conversation that now ends with the remote agent's answer; resolves once stored. */
  async remember(conversation: ReadonlyArray<ChatMessage>, thread: RemoteThread): Promise<void> {
    const key = fingerprint(conversation);
    this.byKey.delete(key);
    this.byKey.set(key, thread);
    const gone: string[] = [];
    while (this.byKey.size > this.max) {
      const oldest = this.byKey.keys().next().value!;
      this.byKey.delete(oldest);
      gone.push(oldest);
    }
    const b = this.backing;
    if (!b || b.store.closed) return;
    const db = b.store.db(THREADS_DB);
    try {
      await b.store.batch(() => {
        db.put([b.agent, key], { ...thread, at: b.now() });
        for (const g of gone) db.remove([b.agent, g]);
      });
    } catch (e) {
      // the answer stands; only the continuation after a restart is lost
      b.logger.warn({ err: e, agent: b.agent }, 'could not store a remote A2A thread');
    }
  }

  get size(): number {
    return this.byKey.size;
  }

  private load(b: ThreadBacking): void {
    const db = b.store.db(THREADS_DB);
    const found: Array<[string, RemoteThread & { at: number }]> = [];
    const bad: string[] = [];
    for (const { key, value } of db.getRange({ start: [b.agent], end: [b.agent, '\uffff'] })) {
      const k = (key as unknown[])[1];
      const r = storedThreadSchema.safeParse(value);
      if (typeof k !== 'string') continue;
      if (r.success) found.push([k, r.data]);
      else bad.push(k);
    }
    if (bad.length > 0) b.logger.warn({ agent: b.agent, records: bad.length }, 'dropping malformed remote A2A thread records');
    found.sort((x, y) => x[1].at - y[1].at);
    const extra = found.length > this.max ? found.splice(0, found.length - this.max) : [];
    for (const [k, { contextId, taskId, open }] of found) this.byKey.set(k, { contextId, taskId, open });
    const drop = [...bad, ...extra.map(([k]) => k)];
    if (drop.length > 0) {
      void b.store.batch(() => {
        for (const k of drop) db.remove([b.agent, k]);
      }).catch((e: unknown) => b.logger.warn({ err: e, agent: b.agent }, 'could not prune remote A2A thread records'));
    }
  }
}

/**
 * Drop every stored thread of an agent (it was removed: its conversations are gone too).
 *
 * @example
 * await forgetThreads(store, 'weather');
 */
export async function forgetThreads(store: NodeStore, agent: string): Promise<number> {
  if (store.closed) return 0;
  const db = store.db(THREADS_DB);
  const keys = [...db.getKeys({ start: [agent], end: [agent, '\uffff'] })];
  if (keys.length === 0) return 0;
  await store.batch(() => {
    for (const k of keys) db.remove(k);
  });
  return keys.length;
}
