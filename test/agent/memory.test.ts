import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluateArithmetic, memoryReducer, newMessages, trimHistory, emptyMemory, type MemoryEvent } from '../../actors/agent/index.js';
import type { ChatMessage } from '../../protocol/openai.js';

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
