import type { ChatMessage, Usage } from '../../protocol/index.js';

/** One conversation's stored history (the agent's instructions are not part of it). */
export interface Conversation {
  messages: ChatMessage[];
  turns: number;
  updatedAt: number;
}

/**
 * An agent's persisted state: its conversations. A plain object (not a Map) so that
 * snapshots encode it as is.
 */
export interface AgentMemory {
  conversations: Record<string, Conversation>;
}

/**
 * What an agent journals. `turn.completed` carries the model's answer, so recovery rebuilds
 * the history from the journal and never calls the model again for a finished turn.
 */
export type MemoryEvent =
  | { type: 'turn.completed'; conversationId: string; runId: string; messages: ChatMessage[]; usage: Usage; at: number }
  | { type: 'conversation.forgotten'; conversationId: string; at: number };

/** A fresh, empty memory. */
export function emptyMemory(): AgentMemory {
  return { conversations: {} };
}

/** Bounds applied by the fold; part of the spec's limits. */
export interface MemoryBounds {
  maxConversations: number;
  maxHistoryMessages: number;
}

/**
 * The pure fold of memory events. Never mutates its input (a snapshot may still be
 * encoding the previous state), and is deterministic, so replay yields the same memory.
 *
 * @example
 * const apply = memoryReducer({ maxConversations: 100, maxHistoryMessages: 50 });
 * const next = apply(emptyMemory(), { type: 'turn.completed', conversationId: 'c', runId: 'r', messages, usage, at: 0 });
 */
export function memoryReducer(bounds: MemoryBounds): (state: AgentMemory, event: MemoryEvent) => AgentMemory {
  return (state, event) => {
    switch (event.type) {
      case 'turn.completed': {
        const prev = state.conversations[event.conversationId];
        const messages = trimHistory([...(prev?.messages ?? []), ...event.messages], bounds.maxHistoryMessages);
        const conversations = { ...state.conversations, [event.conversationId]: { messages, turns: (prev?.turns ?? 0) + 1, updatedAt: event.at } };
        return { conversations: evict(conversations, bounds.maxConversations) };
      }
      case 'conversation.forgotten': {
        if (!(event.conversationId in state.conversations)) return state;
        const { [event.conversationId]: _gone, ...rest } = state.conversations;
        return { conversations: rest };
      }
      default:
        // An event of a newer release: keep the state rather than fail recovery.
        return state;
    }
  };
}

/**
 * Keep at most `max` messages, dropping whole turns from the front: the kept history starts
 * at a user message, so no tool result is left without the call that asked for it.
 */
export function trimHistory(messages: ChatMessage[], max: number): ChatMessage[] {
  if (messages.length <= max) return messages;
  let start = messages.length - max;
  while (start < messages.length && messages[start]!.role !== 'user') start++;
  return messages.slice(start);
}

function evict(conversations: Record<string, Conversation>, max: number): Record<string, Conversation> {
  const ids = Object.keys(conversations);
  if (ids.length <= max) return conversations;
  const sorted = ids.sort((a, b) => conversations[a]!.updatedAt - conversations[b]!.updatedAt || (a < b ? -1 : 1));
  const out = { ...conversations };
  for (const id of sorted.slice(0, ids.length - max)) delete out[id];
  return out;
}

/**
 * The messages of a request that are new to a stored conversation: everything after the
 * last assistant message. A client that resends the whole history (as OpenAI clients do)
 * and one that sends only the new turn both add each message exactly once.
 *
 * @example
 * newMessages([{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }, { role: 'user', content: 'c' }]);
 * // [{ role: 'user', content: 'c' }]
 */
export function newMessages(messages: ReadonlyArray<ChatMessage>): ChatMessage[] {
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]!.role === 'assistant') return messages.slice(i + 1);
  }
  return [...messages];
}
