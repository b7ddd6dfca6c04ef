import { createHash } from 'node:crypto';
import type { ChatMessage } from '../../../protocol/index.js';

/** Where a conversation stands with the remote agent: its context, and the task a follow-up continues. */
export interface RemoteThread {
  contextId: string;
  /** The remote task: continued by the next message while it waits (input-required), else referenced. */
  taskId: string;
  /** The task waits for input: the next message goes to it. */
  open: boolean;
}

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

/**
 * The remote threads of one proxy agent, keyed by the conversation they continue. A model
 * provider sees the whole conversation at every call, not its id: the key is the fingerprint
 * of the conversation up to the new message, which is the fingerprint the previous call
 * stored for the conversation that ended with its answer. Bounded (least recently used go
 * first); a conversation whose thread is gone, or whose history the agent trimmed, starts a
 * new remote context.
 *
 * @example
 * threads.remember([...history, user, { role: 'assistant', content: answer }], { contextId, taskId, open: false });
 * threads.find(history.concat(user)); // the thread, at the next call
 */
export class RemoteThreads {
  private readonly byKey = new Map<string, RemoteThread>();

  constructor(private readonly max: number) {}

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

  /** Remember the thread of a conversation that now ends with the remote agent's answer. */
  remember(conversation: ReadonlyArray<ChatMessage>, thread: RemoteThread): void {
    const key = fingerprint(conversation);
    this.byKey.delete(key);
    this.byKey.set(key, thread);
    while (this.byKey.size > this.max) this.byKey.delete(this.byKey.keys().next().value!);
  }

  get size(): number {
    return this.byKey.size;
  }
}
