import { describe, expect, it } from 'vitest';
import { until } from '../helpers.js';
import { cleanUpAfterEach, processSetup } from './process-node.js';

cleanUpAfterEach();

describe('orchestration across kill -9 (real processes)', () => {
  it('resumes the workflow after kill -9 without re-running completed nodes; the running one is retried; the session shows the truth', async () => {
    const setup = await processSetup({ node: 'k9', holdPrefix: 'step two', config: {
      agents: [{ name: 'assistant' }, { name: 'worker', skills: [{ id: 'steps', name: 'step' }] }],
      orchestrator: { nodeRetries: 0, planner: 'offline', classifier: 'heuristic' },
    } });
    const one = await setup.start();
    const res = await fetch(`${one.ready.http}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-orchestrate': 'true' },
      body: JSON.stringify({ model: 'troupe', stream: true, messages: [{ role: 'user', content: 'step one, then step two, then step three' }] }),
    });
    expect(res.status, one.lines.join('\n')).toBe(200);
    const id = res.headers.get('x-session-id')!;
    expect(id).toMatch(/^ses_/);
    res.body?.cancel().catch(() => undefined);
    await until(() => setup.count('step two') > 0, 30_000, 'step two reached the upstream');
    await setup.kill(one);
    expect(setup.count('step one')).toBe(1);

    setup.release();
    const two = await setup.start();
    const session = await setup.completedSession(two, id);
    expect([setup.count('step one'), setup.count('step two'), setup.count('step three')]).toEqual([1, 2, 1]);
    expect(session.dag.nodes.map((n: any) => [n.id, n.status, n.attempts])).toEqual([['s1', 'completed', 1], ['s2', 'completed', 2], ['s3', 'completed', 1]]);
    expect(session.answer).toBe('done(step three)');
    expect(session.dag.nodes[1].result).toBe('done(step two)');
  }, 120_000);
});
