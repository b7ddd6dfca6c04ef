import type { StreamResponse } from '@a2a-js/sdk';
import { describe, expect, it } from 'vitest';
import { RemoteAnswer } from '../../actors/a2a/external/index.js';

const MAX_ANSWER_CHARS = 4_000_000;
const part = (value: string) => ({ content: { $case: 'text' as const, value }, mediaType: 'text/plain', filename: '', metadata: undefined });
const artifact = (artifactId: string, text: string, append = false): StreamResponse => ({
  payload: { $case: 'artifactUpdate', value: { taskId: 't1', contextId: 'c1', append, lastChunk: false, metadata: undefined, artifact: { artifactId, name: '', description: '', parts: [part(text)], metadata: undefined, extensions: [] } } },
} as unknown as StreamResponse);

describe('hostile: a remote A2A server streaming without end', () => {
  it('replacements that never extend each other stream out no more than the answer bound', () => {
    let out = 0;
    const a = new RemoteAnswer((t) => (out += t.length));
    const big = 1_000_000;
    for (let i = 0; i < 12; i++) a.event(artifact('a', (i % 2 === 0 ? 'x' : 'y').repeat(big)));
    expect(out).toBeLessThanOrEqual(MAX_ANSWER_CHARS);
    expect(a.streamedText.length).toBeLessThanOrEqual(MAX_ANSWER_CHARS);
  });

  it('ever new artifact ids do not grow the answer without bound', () => {
    const a = new RemoteAnswer(() => undefined);
    for (let i = 0; i < 5_000; i++) a.event(artifact(`art-${i}`, 'z'));
    // the artifacts kept are bounded (the first ones); the rest of the text is dropped
    expect((a as unknown as { artifacts: Map<string, string> }).artifacts.size).toBeLessThanOrEqual(256);
    expect(a.text).toBe('z'.repeat(256));
  });
});
