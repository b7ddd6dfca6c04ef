import type { ChatMessage, Usage } from '../../protocol/index.js';
import { estimatePromptTokens } from './model/tokens.js';

/** One conversation's stored history (the agent's instructions are not part of it). */
export interface Conversation {
  messages: ChatMessage[];
  turns: number;
  updatedAt: number;
  /** Size of `messages` as JSON (UTF-8 bytes); absent in snapshots of older releases. */
  bytes?: number;
  /** Approximate tokens of `messages` (as the prompt estimate counts them). */
  tokens?: number;
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

/**
 * Bounds applied by the fold; part of the spec's limits. The window policy: a conversation
 * keeps its most recent whole turns within every per-conversation bound (messages, bytes,
 * tokens); the agent keeps its most recently used conversations within `maxConversations`
 * and `maxMemoryBytes`.
 */
export interface MemoryBounds {
  maxConversations: number;
  maxHistoryMessages: number;
  /** Bytes (JSON, UTF-8) of history kept per conversation. Default {@link DEFAULT_MEMORY_BOUNDS}. */
  maxHistoryBytes?: number;
  /** Approximate tokens of history kept per conversation: what a prompt carries at most. */
  maxHistoryTokens?: number;
  /** Bytes of history kept by the whole agent, over all its conversations. */
  maxMemoryBytes?: number;
}

/** Defaults of the byte and token bounds (the spec's limits set them). */
export const DEFAULT_MEMORY_BOUNDS = {
  maxHistoryBytes: 1024 * 1024,
  maxHistoryTokens: 32_000,
  maxMemoryBytes: 64 * 1024 * 1024,
} as const;

/** Size of one message: its JSON bytes and its approximate prompt tokens. */
export function messageSize(m: ChatMessage): { bytes: number; tokens: number } {
  return { bytes: Buffer.byteLength(JSON.stringify(m)), tokens: estimatePromptTokens([m]) };
}

function sizeOf(messages: ReadonlyArray<ChatMessage>): { bytes: number; tokens: number } {
  let bytes = 0;
  let tokens = 0;
  for (const m of messages) {
    const s = messageSize(m);
    bytes += s.bytes;
    tokens += s.tokens;
  }
  return { bytes, tokens };
}

/**
 * The window policy on one conversation: drop whole turns from the front (so the kept
 * history starts at a user message and no tool result loses its call) until it holds at
 * most `maxMessages` messages, `maxBytes` bytes and `maxTokens` tokens. A single turn over a
 * bound is answered but not remembered. Only dropped messages are measured.
 *
 * @example
 * windowHistory(messages, 10, 1_000_000, 0, { maxMessages: 200, maxBytes: 65_536, maxTokens: 8_000 });
 */
export function windowHistory(
  messages: ChatMessage[], bytes: number, tokens: number,
  bounds: { maxMessages: number; maxBytes: number; maxTokens: number },
): { messages: ChatMessage[]; bytes: number; tokens: number } {
  let start = 0;
  const over = (): boolean => messages.length - start > bounds.maxMessages || bytes > bounds.maxBytes || tokens > bounds.maxTokens;
  while (start < messages.length && over()) {
    do {
      const s = messageSize(messages[start]!);
      bytes -= s.bytes;
      tokens -= s.tokens;
      start++;
    } while (start < messages.length && messages[start]!.role !== 'user');
  }
  if (start >= messages.length) return { messages: [], bytes: 0, tokens: 0 };
  return { messages: start === 0 ? messages : messages.slice(start), bytes, tokens };
}

/** What an agent's memory holds: conversations, bytes and approximate tokens. */
export function memoryUsage(memory: AgentMemory): { conversations: number; bytes: number; tokens: number } {
  let bytes = 0;
  let tokens = 0;
  let conversations = 0;
  for (const c of Object.values(memory.conversations)) {
    conversations++;
    if (c.bytes === undefined || c.tokens === undefined) {
      const s = sizeOf(c.messages);
      bytes += s.bytes;
      tokens += s.tokens;
    } else {
      bytes += c.bytes;
      tokens += c.tokens;
    }
  }
  return { conversations, bytes, tokens };
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
  const window = {
    maxMessages: bounds.maxHistoryMessages,
    maxBytes: bounds.maxHistoryBytes ?? DEFAULT_MEMORY_BOUNDS.maxHistoryBytes,
    maxTokens: bounds.maxHistoryTokens ?? DEFAULT_MEMORY_BOUNDS.maxHistoryTokens,
  };
  const maxMemoryBytes = bounds.maxMemoryBytes ?? DEFAULT_MEMORY_BOUNDS.maxMemoryBytes;
  return (state, event) => {
    switch (event.type) {
      case 'turn.completed': {
        const prev = state.conversations[event.conversationId];
        const before = prev === undefined ? { bytes: 0, tokens: 0 } : prev.bytes !== undefined && prev.tokens !== undefined ? { bytes: prev.bytes, tokens: prev.tokens } : sizeOf(prev.messages);
        const added = sizeOf(event.messages);
        const kept = windowHistory([...(prev?.messages ?? []), ...event.messages], before.bytes + added.bytes, before.tokens + added.tokens, window);
        const conversation: Conversation = { messages: kept.messages, turns: (prev?.turns ?? 0) + 1, updatedAt: event.at, bytes: kept.bytes, tokens: kept.tokens };
        const conversations = { ...state.conversations, [event.conversationId]: conversation };
        return { conversations: evict(conversations, bounds.maxConversations, maxMemoryBytes) };
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

/** Drop least recently used conversations past `max` of them or past `maxBytes` in all. */
function evict(conversations: Record<string, Conversation>, max: number, maxBytes: number): Record<string, Conversation> {
  const ids = Object.keys(conversations);
  let bytes = 0;
  for (const id of ids) bytes += conversations[id]!.bytes ?? sizeOf(conversations[id]!.messages).bytes;
  if (ids.length <= max && bytes <= maxBytes) return conversations;
  const sorted = ids.sort((a, b) => conversations[a]!.updatedAt - conversations[b]!.updatedAt || (a < b ? -1 : 1));
  const out = { ...conversations };
  let count = ids.length;
  for (const id of sorted) {
    if (count <= max && bytes <= maxBytes) break;
    bytes -= out[id]!.bytes ?? sizeOf(out[id]!.messages).bytes;
    delete out[id];
    count--;
  }
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
