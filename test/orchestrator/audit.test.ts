import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../protocol/index.js';
import { auditModule, gatewayModule, orchestratorModule, startNode, type AuditApi, type Orchestrator, type RunningNode } from '../../index.js';
import { silent, tempDir } from '../helpers.js';
import { CARDS, FakeRunner, untilSession } from './helpers.js';

const nodes: RunningNode[] = [];
const dirs: Array<() => void> = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.close();
  for (const c of dirs.splice(0)) c();
});

describe('approval decisions in the audit log', () => {
  it('records every decision (human and timeout) with its RACI fields', async () => {
    const { dir, cleanup } = tempDir('troupe-orch-audit-');
    dirs.push(cleanup);
    const clock = new ManualClock(1_000);
    const node = await startNode({
      id: 'orch-audit', logger: silent, clock, dataDir: dir, http: false,
      modules: [gatewayModule(), auditModule(), orchestratorModule({ runner: new FakeRunner(true), catalog: async () => CARDS })],
    });
    nodes.push(node);
    const orch = node.module<Orchestrator>('orchestrator');
    const dag = {
      nodes: [
        { id: 'pay', agent: 'writer', instruction: 'pay', approval: { action: 'external_call', approvers: ['carol', 'dave'] } },
        { id: 'mail', agent: 'writer', instruction: 'mail', approval: { timeout_ms: 5_000, auto_action: 'reject' } },
      ],
    };
    const id = await orch.start('go', { dag });
    await untilSession(orch, id, (s) => Object.keys(s.approvals).length === 2);
    await orch.decide(`${id}.pay`, { decision: 'approve', reason: 'budgeted' }, { by: 'carol', key: 'k' });
    clock.advance(5_000);
    await untilSession(orch, id, (s) => s.status === 'completed');
    const audit = node.module<AuditApi>('audit');
    let records = audit.query({ action: 'APPROVAL_DECISION' }).records;
    for (let i = 0; i < 50 && records.length < 2; i++) {
      await new Promise((r) => setImmediate(r));
      records = audit.query({ action: 'APPROVAL_DECISION' }).records;
    }
    expect(records.map((r) => [r.target, r.actor, r.outcome, r.details?.['status'], r.details?.['source']])).toEqual([
      [`${id}.pay`, 'carol', 'ok', 'approved', 'http'],
      [`${id}.mail`, 'timeout', 'refused', 'rejected', 'timeout'],
    ]);
    expect(records[0]!.raci).toEqual({ responsible: 'carol', accountable: 'carol', consulted: ['dave'], informed: ['Audit Log'] });
    expect(records[0]!.correlation_id).toBe(id);
    expect(records[0]!.payload_digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});
