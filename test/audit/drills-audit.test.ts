import { afterEach, describe, expect, it } from 'vitest';
import { DRILLS_MODULE, startNode, type AuditApi, type DrillsApi, type RunningNode } from '../../index.js';
import { silent, until } from '../helpers.js';

let node: RunningNode | undefined;
afterEach(async () => { await node?.close(); });

describe('drills in the audit log', () => {
  it('records a drill start and finish, and the off switch', async () => {
    node = await startNode({ id: 'dr', logger: silent, http: false, allowDrills: true, model: { provider: 'offline' } });
    node.spawn(() => undefined, { name: 'worker' });
    const drills = node.module<DrillsApi>(DRILLS_MODULE);
    const audit = node.module<AuditApi>('audit');
    const started = drills.start({ kind: 'crash', target: 'user/worker' });
    const done = await drills.finished(started.id);
    // the finish is recorded before `finished` resolves; the start right behind the answer
    expect(audit.query({ action: 'DRILL_FINISH' }).records[0]).toMatchObject({ actor: 'drills', target: 'user/worker', details: { drill: started.id, kind: 'crash', status: done.status } });
    await until(() => audit.query({ action: 'DRILL_START' }).records.length === 1, 5_000, 'the start record');
    drills.switchOff();
    await until(() => audit.query({ action: 'DRILL_SWITCH_OFF' }).records.length === 1, 5_000, 'the off switch record');
    expect(audit.verify()).toMatchObject({ ok: true, checked: 3 });
  });
});
