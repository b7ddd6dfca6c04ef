import { describe, expect, it } from 'vitest';
import { DRILLS_MODULE, type DrillsApi } from '../../index.js';
import { until } from '../helpers.js';
import { cleanUpAfterAll, dir, driller, near, peer, statusOf, watchMembers } from './real-peer.js';

cleanUpAfterAll();

describe('the kill-node drill with a real node process', () => {
  it('kill-node: the target ends itself with SIGKILL; the driller detects it down; restarted, it rejoins and the drill reports the rejoin', async () => {
    const a = await driller('ka');
    const data = dir();
    const b = await peer('kb', data, a.peer!.url);
    await until(() => statusOf(a, 'kb') === 'up', 10_000, 'kb up');
    const seen = watchMembers(a, 'kb');
    const api = a.module<DrillsApi>(DRILLS_MODULE);
    const started = api.start({ kind: 'kill-node', target: 'kb', durationMs: 90_000, probeWithinMs: 5_000 });
    expect(await b.exited).toBeNull();
    expect(b.proc.signalCode).toBe('SIGKILL');
    await until(() => statusOf(a, 'kb') === 'down', 10_000, 'kb down');
    await peer('kb', data, a.peer!.url);
    const r = await api.finished(started.id);
    expect(r.status).toBe('finished');
    near(r.timeline!['downAt'], seen.find((s) => s.type === 'member.down')?.at);
    near(r.detectedAt, Math.min(...seen.filter((s) => s.type !== 'member.up').map((s) => s.at)));
    near(r.timeline!['upAt'], seen.find((s) => s.type === 'member.up')?.at);
    expect(r.recoveredAt).toBeGreaterThanOrEqual(r.timeline!['upAt']!);
    expect(r.verdict).toBe('held');
  }, 180_000);
});
