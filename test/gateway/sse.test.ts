import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { SseStream } from '../../gateway/sse.js';

/** A response whose client never reads: everything written stays buffered. */
function stuckClient(): Writable & { written: string[] } {
  const written: string[] = [];
  const w = new Writable({ highWaterMark: 16, write: (chunk: Buffer) => void written.push(chunk.toString()) });
  return Object.assign(w, { written });
}

describe('SseStream', () => {
  it('stops writing once more than the limit waits for a client that does not read, and says so once', () => {
    const sink = stuckClient();
    let overflows = 0;
    const sse = new SseStream(sink, 1_000, () => overflows++);
    for (let i = 0; i < 100; i++) sse.send('x'.repeat(100));
    expect(overflows).toBe(1);
    expect(sse.overflow).toBe(true);
    // Written until just past the limit, then nothing: memory stays bounded.
    expect(sink.writableLength).toBeGreaterThan(1_000);
    expect(sink.writableLength).toBeLessThan(1_000 + 200);
    sse.end('{"error":"too slow"}');
    expect(sink.writableEnded).toBe(true);
    expect(sink.writableLength).toBeLessThan(1_000 + 250);
  });

  it('writes every event for a client that keeps up, and end() is idempotent', () => {
    const chunks: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _enc, cb) => { chunks.push(chunk.toString()); cb(); } });
    let overflows = 0;
    const sse = new SseStream(sink, 1_000, () => overflows++);
    for (let i = 0; i < 100; i++) sse.send('x'.repeat(100));
    sse.end('[DONE]');
    sse.end('[DONE]');
    expect(overflows).toBe(0);
    expect(chunks).toHaveLength(101);
    expect(chunks.at(-1)).toBe('data: [DONE]\n\n');
  });
});
