import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { OfflineModel, UpstreamGuard, type AgentEvent } from '../../actors/agent/index.js';
import { ManualClock, isTroupeError } from '../../protocol/index.js';

const req = { model: 'troupe-offline', messages: [{ role: 'user' as const, content: 'hi' }] };
const FAILURES = 3;
const HALF_OPEN_AFTER_MS = 10_000;

function guardOf(clock: ManualClock): { guard: UpstreamGuard; events: AgentEvent[] } {
  const events: AgentEvent[] = [];
  const guard = new UpstreamGuard('a', new OfflineModel(), clock, {
    breaker: { failures: FAILURES, halfOpenAfterMs: HALF_OPEN_AFTER_MS }, maxPauseMs: 60_000, defaultPauseMs: 1_000,
  }, {}, pino({ level: 'silent' }), (e) => events.push(e));
  return { guard, events };
}

/** The code a call fails with, or 'ok'. */
async function outcome(guard: UpstreamGuard): Promise<string> {
  try {
    await guard.complete(req);
    return 'ok';
  } catch (e) {
    return isTroupeError(e) ? e.code : String(e);
  }
}

// The breaker's transitions around the built-in offline model, with faults injected by drills.
describe('the offline model behind the upstream guard', () => {
  it('answers while no fault is injected, the breaker closed', async () => {
    const { guard } = guardOf(new ManualClock(1_000));
    for (let i = 0; i < 5; i++) expect(await outcome(guard)).toBe('ok');
    expect(guard.state().breaker.state).toBe('closed');
  });

  it('fails fast once injected failures opened the breaker, after the fault too, until a probe succeeds', async () => {
    const clock = new ManualClock(1_000);
    const { guard, events } = guardOf(clock);
    const end = guard.inject({ mode: 'error', until: 5_000 });
    for (let i = 0; i < FAILURES; i++) expect(await outcome(guard)).toBe('TROUPE_ERR_MODEL_UPSTREAM');
    expect(guard.state().breaker.state).toBe('open');
    end();
    // no fault any more, but the breaker is open: the offline model is not called
    expect(await outcome(guard)).toBe('TROUPE_ERR_MODEL_CIRCUIT_OPEN');
    clock.advance(HALF_OPEN_AFTER_MS);
    expect(await outcome(guard)).toBe('ok');
    expect(guard.state().breaker.state).toBe('closed');
    expect(events.filter((e) => e.type === 'agent.breaker').map((e) => (e as { state: string }).state)).toEqual(['open', 'half-open', 'closed']);
  });

  it('counts failures from zero again after a success between them', async () => {
    const clock = new ManualClock(1_000);
    const { guard } = guardOf(clock);
    let end = guard.inject({ mode: 'error', until: 5_000 });
    for (let i = 0; i < FAILURES - 1; i++) expect(await outcome(guard)).toBe('TROUPE_ERR_MODEL_UPSTREAM');
    end();
    // this success resets the breaker's count of consecutive failures
    expect(await outcome(guard)).toBe('ok');
    end = guard.inject({ mode: 'error', until: 5_000 });
    for (let i = 0; i < FAILURES - 1; i++) expect(await outcome(guard)).toBe('TROUPE_ERR_MODEL_UPSTREAM');
    expect(guard.state().breaker.state).toBe('closed');
    expect(await outcome(guard)).toBe('TROUPE_ERR_MODEL_UPSTREAM');
    expect(guard.state().breaker.state).toBe('open');
    end();
  });

  it('keeps counting across successes that came before the failures', async () => {
    const clock = new ManualClock(1_000);
    const { guard } = guardOf(clock);
    expect(await outcome(guard)).toBe('ok');
    const end = guard.inject({ mode: 'error', until: 5_000 });
    for (let i = 0; i < FAILURES; i++) expect(await outcome(guard)).toBe('TROUPE_ERR_MODEL_UPSTREAM');
    expect(guard.state().breaker.state).toBe('open');
    end();
  });
});
