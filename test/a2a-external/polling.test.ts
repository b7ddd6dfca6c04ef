import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../index.js';
import { A2AProxyProvider, externalAgentsOptionsSchema } from '../../actors/a2a/index.js';
import { silent, until } from '../helpers.js';
import { PROCESS_TEST_TIMEOUT_MS, startFixture, type TroupeProcess } from '../process.js';

/** A ManualClock that remembers every wait it was given. */
class RecordingClock extends ManualClock {
  readonly waits: number[] = [];
  override setTimeout(fn: () => void, ms: number): unknown {
    this.waits.push(ms);
    return super.setTimeout(fn, ms);
  }
}

let fixture: TroupeProcess;

beforeAll(async () => {
  fixture = await startFixture('a2a-external-server.mjs', ['0', 'no-resubscribe']);
}, PROCESS_TEST_TIMEOUT_MS);

afterAll(async () => {
  await fixture?.kill();
});

const calls = async (): Promise<Array<{ method: string }>> => (await fetch(`${fixture.ready.http}/calls`)).json() as Promise<Array<{ method: string }>>;

function proxy(clock: ManualClock, maxPolls: number): A2AProxyProvider {
  const options = externalAgentsOptionsSchema.parse({ allowLoopback: true, pollIntervalMs: 500, pollMaxIntervalMs: 1_500, maxPolls });
  return new A2AProxyProvider({ agent: 'far', spec: { url: fixture.ready.http, timeoutMs: 60_000 }, options, logger: silent, pii: () => undefined, clock });
}

/** The call's own time limit (60 s) is armed on the clock for the whole call: the poll waits come on top of it. */
const CALL_LIMIT_TIMERS = 1;

/** Run a call to its end, firing each poll wait on the manual clock as it comes (never reaching the call's 60 s limit). */
async function drive<T>(clock: ManualClock, call: Promise<T>): Promise<T> {
  let settled = false;
  const done = call.finally(() => { settled = true; });
  done.catch(() => undefined);
  while (!settled) {
    await until(() => settled || clock.pending > CALL_LIMIT_TIMERS, 30_000, 'the next poll wait, or the end');
    if (clock.pending > CALL_LIMIT_TIMERS) clock.advance(1_500);
  }
  return done;
}

describe('a proxy agent whose remote server cannot be resubscribed to (an SDK server in its own process)', () => {
  it('polls the remote task with getTask after its stream broke, waiting on the injected clock with a doubling backoff, and loses no text', async () => {
    const clock = new RecordingClock();
    const deltas: string[] = [];
    const before = (await calls()).length;
    const r = await drive(clock, proxy(clock, 10).complete({ model: 'far', messages: [{ role: 'user', content: 'drop it' }] }, {
      onDelta: (d) => { if (d.type === 'content') deltas.push(d.text); },
    }));
    expect(r.content).toBe('part one, part two, part three');
    expect(deltas.join('')).toBe('part one, part two, part three');
    const methods = (await calls()).slice(before).map((c) => c.method);
    // one refused resubscription, then reads
    expect(methods.filter((m) => m === 'SubscribeToTask')).toHaveLength(1);
    expect(methods.filter((m) => m === 'GetTask').length).toBeGreaterThanOrEqual(2);
    // the first wait is the call's time limit, then the polls' doubling backoff
    expect(clock.waits.slice(0, 3)).toEqual([60_000, 500, 1_000]);
    expect(clock.waits.slice(1).every((w) => w <= 1_500)).toBe(true);
  }, 60_000);

  it('gives up after maxPolls reads of a task that stays working: TROUPE_ERR_A2A_EXTERNAL_UNREACHABLE', async () => {
    const clock = new RecordingClock();
    const before = (await calls()).length;
    await expect(drive(clock, proxy(clock, 3).complete({ model: 'far', messages: [{ role: 'user', content: 'stuck here' }] }, { onDelta: () => undefined })))
      .rejects.toMatchObject({ code: 'TROUPE_ERR_A2A_EXTERNAL_UNREACHABLE' });
    expect((await calls()).slice(before).filter((c) => c.method === 'GetTask')).toHaveLength(3);
    expect(clock.waits).toEqual([60_000, 500, 1_000]);
  }, 60_000);
});
