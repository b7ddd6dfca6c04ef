import { describe, expect, it } from 'vitest';
import { DRILLS_MODULE, type DrillsApi } from '../../index.js';
import { until } from '../helpers.js';
import { cleanUpAfterAll, dir, driller, near, peer, statusOf, watchMembers } from './real-peer.js';

cleanUpAfterAll();

describe('the partition drill with a real node process', () => {
  it('partition: the peer goes suspect then down, comes back up after the heal, and every durable message sent meanwhile arrives once', async () => {
    const a = await driller('pa');
    await peer('pb', dir(), a.peer!.url);
    await until(() => statusOf(a, 'pb') === 'up', 10_000, 'pb up');
    const seen = watchMembers(a, 'pb');
    const api = a.module<DrillsApi>(DRILLS_MODULE);
    const started = api.start({ kind: 'partition', target: 'pb', durationMs: 1_500, rate: 12, probeWithinMs: 5_000 });
    const r = await api.finished(started.id);
    expect(r.status).toBe('finished');
    const first = (type: string): number | undefined => seen.find((s) => s.type === type)?.at;
    near(r.timeline!['suspectAt'], first('member.suspect'));
    near(r.timeline!['downAt'], first('member.down'));
    near(r.timeline!['upAt'], seen.find((s) => s.type === 'member.up' && s.at >= r.timeline!['healedAt']!)?.at);
    near(r.detectedAt, r.timeline!['suspectAt']);
    expect(r.timeline!['suspectAt']!).toBeLessThan(r.timeline!['healedAt']!);
    expect(r.recoveredAt).toBeGreaterThanOrEqual(r.timeline!['healedAt']!);
    // the receiver's own ledger, asked by the test: twelve distinct, none twice
    const ledger = await a.ask<{ distinct: number; duplicates: number }>('troupe://pb/system/drills', { type: 'drill.ledger', drill: r.id });
    expect(ledger).toMatchObject({ distinct: 12, duplicates: 0 });
    expect(r.messages).toMatchObject({ sent: 12, delivered: 12, lost: 0, duplicates: 0 });
    expect(r.verdict).toBe('held');
    expect(statusOf(a, 'pb')).toBe('up');
  }, 120_000);

  it('kill-node is refused by a target started without --allow-drills, which stays up', async () => {
    const a = await driller('ra');
    const b = await peer('rb', dir(), a.peer!.url, false);
    await until(() => statusOf(a, 'rb') === 'up', 10_000, 'rb up');
    const api = a.module<DrillsApi>(DRILLS_MODULE);
    const r = await api.finished(api.start({ kind: 'kill-node', target: 'rb', durationMs: 1_000 }).id);
    expect(r.status).toBe('failed');
    expect(r.error).toMatch(/TROUPE_ERR_DRILL_DISABLED/);
    expect(b.proc.exitCode).toBeNull();
    expect(await a.ask('troupe://rb/system/drills', { type: 'drill.ping' })).toBe('pong');
    expect(() => api.start({ kind: 'partition', target: 'nobody' })).toThrow(expect.objectContaining({ code: 'TROUPE_ERR_DRILL_TARGET' }));
  }, 120_000);
});
