import { afterEach, describe, expect, it } from 'vitest';
import { startNode, type RunningNode } from '../../index.js';
import { defaultModules, fireId, type AoaApi, type AuditApi, type Scheduler } from '../../actors/index.js';
import { silent } from '../helpers.js';
import { SteppingClock, runUntil } from '../scheduler/helpers.js';

const T0 = Date.parse('2026-03-27T00:00:00.000Z');
let node: RunningNode | undefined;
afterEach(async () => { await node?.close(); });

describe('scheduled jobs in the audit log', () => {
  it('records each fire (JOB_FIRE with its fire id) and its task, enriched with the fabric context', async () => {
    const clock = new SteppingClock(T0);
    node = await startNode({ id: 'ja', logger: silent, clock, http: false, modules: defaultModules({ model: { provider: 'offline' } }) });
    const s = node.module<Scheduler>('scheduler');
    const job = await s.create({ name: 'tick', schedule: { type: 'interval', seconds: 60 }, task: { task_type: 'NOOP', payload: {} } });
    await runUntil(clock, s, T0 + 125_000);
    const audit = node.module<AuditApi>('audit');
    const fires = audit.query({ action: 'JOB_FIRE' }).records;
    expect(fires.map((r) => r.details?.['fire_id'])).toEqual([fireId(job.id, T0 + 60_000), fireId(job.id, T0 + 120_000)]);
    expect(fires[0]).toMatchObject({ actor: 'scheduler', target: job.id, raci: { responsible: 'AOA Scheduler', accountable: 'Platform', consulted: ['Users'], informed: ['Telemetry'] } });
    const taskId = String(fires[0]!.details?.['task_id']);
    expect(node.module<AoaApi>('aoa').getTask(taskId)).toMatchObject({ primary_plane_id: 'api-gateway-sim', fabric_context: { auto_enriched: true } });
    expect(audit.query({ correlationId: taskId }).records.map((r) => r.action)).toEqual(expect.arrayContaining(['TASK_SUBMIT', 'JOB_FIRE']));
  });
});
