import { describe, expect, it } from 'vitest';
import { JsonRpcTransportHandler } from '@a2a-js/sdk/server';
import { LegacyJsonRpcTransportHandler } from '@a2a-js/sdk/compat/v0_3/server';
import { TaskNotCancelableError, TaskNotFoundError, UnsupportedOperationError } from '@a2a-js/sdk/errors';
import { TroupeError } from '../../index.js';
import { EventQueue, fromWireError, toWireError } from '../../actors/a2a/home/index.js';

async function drain(q: EventQueue): Promise<{ events: unknown[]; error?: any }> {
  const events: unknown[] = [];
  try {
    for await (const e of q.drain()) events.push(e);
    return { events };
  } catch (error) {
    return { events, error };
  }
}

const ev = (seq: number) => ({ type: 'a2a.home.event' as const, streamId: 's', seq, event: { n: seq } });

describe('what crosses the peer link for a task of another node', () => {
  it("the SDK's errors come back as the same class, so either node answers the same JSON-RPC code, 1.0 and 0.3", () => {
    for (const e of [new TaskNotFoundError('no task t1'), new TaskNotCancelableError('done'), new UnsupportedOperationError('finished')]) {
      const back = fromWireError(toWireError(e));
      expect(back.name).toBe(e.name);
      expect(JsonRpcTransportHandler.mapToJSONRPCError(back)).toEqual(JsonRpcTransportHandler.mapToJSONRPCError(e));
      expect(LegacyJsonRpcTransportHandler.mapToLegacyJSONRPCError(back)).toEqual(LegacyJsonRpcTransportHandler.mapToLegacyJSONRPCError(e));
    }
    const coded = fromWireError(toWireError(new TroupeError('TROUPE_ERR_A2A_AGENT_NOT_FOUND', 'gone')));
    expect(coded).toBeInstanceOf(TroupeError);
    expect((coded as TroupeError).code).toBe('TROUPE_ERR_A2A_AGENT_NOT_FOUND');
    // an unknown code is a plain error, never a made-up TroupeError
    expect(fromWireError({ name: 'TroupeError', message: 'x', code: 'TROUPE_ERR_NOT_A_CODE' })).not.toBeInstanceOf(TroupeError);
  });

  it('a stream yields its events in order and ends at its end, with the error it ended with', async () => {
    const q = new EventQueue(8);
    q.push(ev(0));
    q.push(ev(1));
    q.push({ type: 'a2a.home.end', streamId: 's', seq: 2, error: toWireError(new TaskNotFoundError('no such task')) });
    const r = await drain(q);
    expect(r.events).toEqual([{ n: 0 }, { n: 1 }]);
    expect(r.error?.name).toBe('TaskNotFoundError');
  });

  it('a gap in the numbering (events lost with the link) ends the stream with TROUPE_ERR_A2A_HOME_UNREACHABLE after what came in order', async () => {
    const q = new EventQueue(8);
    q.push(ev(0));
    q.push(ev(2));
    q.push(ev(3));
    const r = await drain(q);
    expect(r.events).toEqual([{ n: 0 }]);
    expect(r.error?.code).toBe('TROUPE_ERR_A2A_HOME_UNREACHABLE');
    expect(r.error?.message).toContain('TROUPE_ERR_A2A_HOME_UNREACHABLE');
  });

  it('past its bound the queue ends the stream with TROUPE_ERR_A2A_STREAM_OVERFLOW; later events are dropped', async () => {
    const q = new EventQueue(3);
    for (let i = 0; i < 6; i++) q.push(ev(i));
    const r = await drain(q);
    expect(r.events).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }]);
    expect(r.error?.code).toBe('TROUPE_ERR_A2A_STREAM_OVERFLOW');
  });
});
