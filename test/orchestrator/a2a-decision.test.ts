import { describe, expect, it } from 'vitest';
import type { Part } from '@a2a-js/sdk';
import { decisionOf } from '../../actors/index.js';
import { userMessage } from '../a2a/harness.js';

const withData = (value: unknown) => {
  const m = userMessage('');
  m.parts = [{ content: { $case: 'data', value }, mediaType: 'application/json', filename: '', metadata: undefined } as Part];
  return m;
};

describe('decisions in A2A follow-ups', () => {
  it('reads approve, reject and modify from text, with a reason or the new instruction', () => {
    expect(decisionOf(userMessage('approve'))).toEqual({ decision: 'approve' });
    expect(decisionOf(userMessage('Approved: looks right'))).toEqual({ decision: 'approve', reason: 'looks right' });
    expect(decisionOf(userMessage('yes'))).toEqual({ decision: 'approve' });
    expect(decisionOf(userMessage('reject - too risky'))).toEqual({ decision: 'reject', reason: 'too risky' });
    expect(decisionOf(userMessage('deny'))).toEqual({ decision: 'reject' });
    expect(decisionOf(userMessage('modify: publish a shorter version'))).toEqual({ decision: 'modify', input: 'publish a shorter version' });
  });

  it('reads a data part as the body of POST /v1/approvals/:id, validated', () => {
    expect(decisionOf(withData({ decision: 'modify', input: 'x', reason: 'y' }))).toEqual({ decision: 'modify', input: 'x', reason: 'y' });
    expect(decisionOf(withData({ decision: 'maybe' }))).toBeUndefined();
    expect(decisionOf(withData({ decision: 'approve', extra: 1 }))).toBeUndefined();
  });

  it('finds no decision in other text', () => {
    expect(decisionOf(userMessage('hmm, not sure'))).toBeUndefined();
    expect(decisionOf(userMessage('approvals are hard'))).toBeUndefined();
    expect(decisionOf(userMessage('modify'))).toBeUndefined();
    expect(decisionOf(userMessage(''))).toBeUndefined();
  });
});
