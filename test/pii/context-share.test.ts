import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { A2A_ENDPOINT_PATH, type A2AApi, type InspectionEvent } from '../../actors/index.js';
import { startNode, type RunningNode } from '../../index.js';

const nodes: RunningNode[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.close();
});

const base = { from: 'hr', correlationId: 'corr-1', callChain: [] as string[], createdAt: 1, replyTo: 'troupe://pii-cs/system/a2a-messages' };

describe('CONTEXT_SHARE between agents passes the pii module\'s policy of its pair', () => {
  it('BLOCK refuses with a coded ack and keeps nothing; REDACT keeps the context without the PII; each is a pii.decision event', async () => {
    const node = await startNode({
      id: 'pii-cs',
      logger: pino({ level: 'silent' }),
      http: false,
      pii: { default: 'ALLOW', pairs: [{ from: 'hr', to: 'payroll', policy: 'BLOCK' }, { from: 'hr', to: 'vault', policy: 'REDACT' }] },
      agents: [{ name: 'payroll', instructions: 'p' }, { name: 'vault', instructions: 'v' }, { name: 'desk', instructions: 'd' }],
    });
    nodes.push(node);
    const events: InspectionEvent[] = [];
    node.inspect((e) => {
      if (e.type === 'pii.decision') events.push(e);
    });
    const inbox = node.module<A2AApi>('a2a').delegation.inbox;
    const share = (id: string, to: string, context: Record<string, unknown>): Promise<any> =>
      node.ask(A2A_ENDPOINT_PATH, { ...base, id, to, type: 'a2a.context_share', payload: { context } });
    const context = { note: 'reach ada at ada.lovelace@example.org or 4111 1111 1111 1111', region: 'eu' };

    const refused = await share('cs-1', 'payroll', context);
    expect(refused).toMatchObject({ accepted: false, keys: [], error: { code: 'TROUPE_ERR_PII_BLOCKED' } });
    expect(JSON.stringify(refused)).not.toContain('ada.lovelace');
    expect(inbox.sharedContext('payroll', 'corr-1')).toBeUndefined();

    expect(await share('cs-2', 'vault', context)).toMatchObject({ accepted: true, keys: ['note', 'region'] });
    const kept = inbox.sharedContext('vault', 'corr-1') as { note: string; region: string };
    expect(kept.region).toBe('eu');
    expect(kept.note).not.toContain('ada.lovelace@example.org');
    expect(kept.note).not.toContain('4111 1111 1111 1111');

    expect(await share('cs-3', 'desk', context)).toMatchObject({ accepted: true });
    expect(inbox.sharedContext('desk', 'corr-1')).toEqual(context);

    expect(events.map((e) => (e.type === 'pii.decision' ? [e.to, e.decision, e.channel] : []))).toEqual([
      ['payroll', 'BLOCK', 'a2a.context_share'], ['vault', 'REDACT', 'a2a.context_share'], ['desk', 'ALLOW', 'a2a.context_share'],
    ]);
  });
});
