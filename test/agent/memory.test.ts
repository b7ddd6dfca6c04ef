import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_MEMORY_BOUNDS, evaluateArithmetic, memoryReducer, memoryUsage, newMessages, trimHistory, windowHistory, emptyMemory, type MemoryEvent,
} from '../../actors/agent/index.js';
import { estimatePromptTokens } from '../../actors/agent/model/tokens.js';
import type { ChatMessage } from '../../protocol/index.js';
import { cleanup, testNode } from './harness.js';

afterEach(cleanup);

const message: fc.Arbitrary<ChatMessage> = fc.oneof(
  fc.string({ maxLength: 5 }).map((content) => ({ role: 'user' as const, content })),
  fc.string({ maxLength: 5 }).map((content) => ({ role: 'assistant' as const, content })),
  fc.string({ maxLength: 5 }).map((content) => ({ role: 'tool' as const, content, toolCallId: 'c' })),
);

describe('conversation memory', () => {
  it('trims whole turns from the front: at most max messages, starting at a user message', () => {
    fc.assert(fc.property(fc.array(message, { maxLength: 40 }), fc.integer({ min: 2, max: 20 }), (msgs, max) => {
      const kept = trimHistory(msgs, max);
      if (msgs.length <= max) {
        expect(kept).toBe(msgs);
        return;
      }
      expect(kept.length).toBeLessThanOrEqual(max);
      if (kept.length > 0) expect(kept[0]!.role).toBe('user');
      expect(msgs.slice(msgs.length - kept.length)).toEqual(kept);
    }));
  });

  it('folds events purely and deterministically, never mutating the state it was given', () => {
    const event: fc.Arbitrary<MemoryEvent> = fc.oneof(
      fc.record({ type: fc.constant('turn.completed' as const), conversationId: fc.constantFrom('a', 'b', 'c', 'd'), runId: fc.string(), messages: fc.array(message, { maxLength: 4 }), usage: fc.constant({ prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 }), at: fc.nat() }),
      fc.record({ type: fc.constant('conversation.forgotten' as const), conversationId: fc.constantFrom('a', 'b'), at: fc.nat() }),
    );
    fc.assert(fc.property(fc.array(event, { maxLength: 30 }), (events) => {
      const apply = memoryReducer({ maxConversations: 3, maxHistoryMessages: 6 });
      let s = emptyMemory();
      const frozen: string[] = [];
      const states = [s];
      for (const e of events) {
        frozen.push(JSON.stringify(s));
        s = apply(s, e);
        states.push(s);
      }
      // every earlier state is untouched by later events
      states.slice(0, -1).forEach((st, i) => expect(JSON.stringify(st)).toBe(frozen[i]));
      expect(Object.keys(s.conversations).length).toBeLessThanOrEqual(3);
      for (const c of Object.values(s.conversations)) expect(c.messages.length).toBeLessThanOrEqual(6);
      // replay gives the same memory
      expect(events.reduce(apply, emptyMemory())).toEqual(s);
    }));
  });

  it('takes only the messages after the last assistant message as new to a stored conversation', () => {
    const u = (c: string): ChatMessage => ({ role: 'user', content: c });
    const a = (c: string): ChatMessage => ({ role: 'assistant', content: c });
    expect(newMessages([u('1'), a('2'), u('3')])).toEqual([u('3')]);
    expect(newMessages([u('only')])).toEqual([u('only')]);
    expect(newMessages([{ role: 'system', content: 's' }, u('1')])).toEqual([{ role: 'system', content: 's' }, u('1')]);
    expect(newMessages([u('1'), a('2')])).toEqual([]);
  });
});

const bytesOf = (ms: ChatMessage[]): number => ms.reduce((n, m) => n + Buffer.byteLength(JSON.stringify(m)), 0);
const usage = { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 };

describe('memory bounds in bytes and tokens (the window policy)', () => {
  const sized: fc.Arbitrary<ChatMessage> = fc.oneof(
    fc.string({ maxLength: 400 }).map((content) => ({ role: 'user' as const, content })),
    fc.string({ maxLength: 400 }).map((content) => ({ role: 'assistant' as const, content })),
    fc.string({ maxLength: 100 }).map((content) => ({ role: 'tool' as const, content, toolCallId: 'c' })),
  );

  it('keeps the most recent whole turns within every bound, and its byte and token counts are exact', () => {
    fc.assert(fc.property(
      fc.array(sized, { maxLength: 40 }), fc.integer({ min: 2, max: 30 }), fc.integer({ min: 0, max: 6_000 }), fc.integer({ min: 0, max: 1_500 }),
      (msgs, maxMessages, maxBytes, maxTokens) => {
        const kept = windowHistory(msgs, bytesOf(msgs), estimatePromptTokens(msgs), { maxMessages, maxBytes, maxTokens });
        expect(kept.messages.length).toBeLessThanOrEqual(maxMessages);
        expect(kept.bytes).toBe(bytesOf(kept.messages));
        expect(kept.tokens).toBe(estimatePromptTokens(kept.messages));
        expect(kept.bytes).toBeLessThanOrEqual(maxBytes);
        expect(kept.tokens).toBeLessThanOrEqual(maxTokens);
        // a suffix, starting at a user message unless nothing had to go
        expect(msgs.slice(msgs.length - kept.messages.length)).toEqual(kept.messages);
        if (kept.messages.length > 0 && kept.messages.length < msgs.length) expect(kept.messages[0]!.role).toBe('user');
      },
    ));
  });

  it('bounds one conversation of 30 turns of 900 KB to maxHistoryBytes and maxHistoryTokens', () => {
    const apply = memoryReducer({ maxConversations: 10, maxHistoryMessages: 200 });
    let s = emptyMemory();
    for (let i = 0; i < 30; i++) {
      s = apply(s, { type: 'turn.completed', conversationId: 'big', runId: `r${i}`, at: i, usage, messages: [
        { role: 'user', content: `${i} ${'x'.repeat(900 * 1024)}` }, { role: 'assistant', content: 'ok' },
      ] });
    }
    const c = s.conversations['big']!;
    expect(c.turns).toBe(30);
    expect(c.bytes).toBeLessThanOrEqual(DEFAULT_MEMORY_BOUNDS.maxHistoryBytes);
    expect(bytesOf(c.messages)).toBe(c.bytes);
    expect(estimatePromptTokens(c.messages)).toBeLessThanOrEqual(DEFAULT_MEMORY_BOUNDS.maxHistoryTokens);
  });

  it('drops least recently used conversations past the agent-wide maxMemoryBytes', () => {
    const apply = memoryReducer({ maxConversations: 100, maxHistoryMessages: 200, maxHistoryBytes: 10_000, maxHistoryTokens: 100_000, maxMemoryBytes: 25_000 });
    let s = emptyMemory();
    for (const [i, id] of ['a', 'b', 'c', 'd'].entries()) {
      s = apply(s, { type: 'turn.completed', conversationId: id, runId: id, at: i, usage, messages: [{ role: 'user', content: 'y'.repeat(8_000) }] });
    }
    expect(Object.keys(s.conversations)).toEqual(['b', 'c', 'd']);
    expect(memoryUsage(s).bytes).toBeLessThanOrEqual(25_000);
    expect(memoryUsage(s).bytes).toBe(bytesOf(Object.values(s.conversations).flatMap((c) => c.messages)));
  });

  it('counts a snapshot of an older release (no sizes stored) and bounds it on its next turn', () => {
    const old = { conversations: { c: { messages: [{ role: 'user' as const, content: 'z'.repeat(5_000) }, { role: 'assistant' as const, content: 'ok' }], turns: 1, updatedAt: 0 } } };
    expect(memoryUsage(old).bytes).toBe(bytesOf(old.conversations.c.messages));
    const next = memoryReducer({ maxConversations: 10, maxHistoryMessages: 200, maxHistoryBytes: 4_000 })(old, {
      type: 'turn.completed', conversationId: 'c', runId: 'r', at: 1, usage, messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }],
    });
    expect(next.conversations['c']!.messages.map((m) => m.content)).toEqual(['hi', 'hello']);
  });

  it('keeps the prompt a long conversation sends upstream within the bound, and /metrics counts the memory', async () => {
    const node = await testNode({ http: { port: 0 }, agents: [{ name: 'keeper', limits: { maxHistoryTokens: 5_000 } }] });
    let prompt = 0;
    for (let i = 0; i < 30; i++) {
      const r = await node.agents.run('keeper', { conversationId: 'long', input: [{ role: 'user', content: `turn ${i} ${'w'.repeat(40_000)}` }] });
      prompt = r.usage.prompt_tokens;
    }
    const last = await node.agents.run('keeper', { conversationId: 'long', input: [{ role: 'user', content: 'short' }] });
    // instructions + at most 5,000 tokens of history + the new message
    expect(last.usage.prompt_tokens).toBeLessThan(5_100);
    expect(prompt).toBeGreaterThan(10_000); // one 40 KB message alone is ~10k tokens: the bound is on history, not input
    const status = await node.agents.status('keeper');
    expect(status.memoryTokens).toBeLessThanOrEqual(5_000);
    const metrics = await (await fetch(`${node.http!.url}/metrics`)).text();
    const bytes = /troupe_agent_memory_bytes\{agent="keeper"[^}]*\} (\d+)/.exec(metrics);
    expect(Number(bytes?.[1])).toBe(status.memoryBytes);
    expect(metrics).toMatch(new RegExp(`troupe_agent_memory_tokens\\{agent="keeper"[^}]*\\} ${status.memoryTokens}\\b`));
    expect(metrics).toMatch(/troupe_agent_conversations\{agent="keeper"[^}]*\} 1\b/);
  });
});

describe('calculator tool', () => {
  it('evaluates arithmetic with precedence, unary minus and right-associative powers', () => {
    expect(evaluateArithmetic('1 + 2 * 3')).toBe(7);
    expect(evaluateArithmetic('(1 + 2) * 3')).toBe(9);
    expect(evaluateArithmetic('-2 ^ 2')).toBe(-4);
    expect(evaluateArithmetic('2 ^ 3 ^ 2')).toBe(512);
    expect(evaluateArithmetic('7 % 4 + .5')).toBe(3.5);
    expect(evaluateArithmetic('1e3 / 8')).toBe(125);
  });

  it('refuses anything that is not arithmetic', () => {
    for (const bad of ['process.exit()', '1 +', '(1', '1 / 0', '2 2', '']) expect(() => evaluateArithmetic(bad)).toThrow();
  });
});
