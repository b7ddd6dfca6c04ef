import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI, type RecordedRequest } from '../fixtures/fake-openai.js';
import { tempDir, until } from '../helpers.js';
import { startTroupe, type TroupeProcess } from '../process.js';

const procs: TroupeProcess[] = [];
const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const p of procs.splice(0)) await p.kill().catch(() => undefined);
  for (const c of cleanups.splice(0)) await c();
});

/** The last user message of an upstream call: the node's prompt. */
function promptOf(call: RecordedRequest): string {
  const msgs = (call.body?.messages ?? []) as Array<{ role: string; content: unknown }>;
  const last = [...msgs].reverse().find((m) => m.role === 'user');
  return typeof last?.content === 'string' ? last.content : '';
}

describe('orchestration across kill -9 (real processes)', () => {
  it('resumes the workflow after kill -9 without re-running completed nodes; the running one is retried; the session shows the truth', async () => {
    let hold = true;
    const fake: FakeOpenAI = await startFakeOpenAI((call) => {
      const p = promptOf(call);
      if (hold && p.startsWith('step two')) return { kind: 'hang' };
      return { kind: 'text', text: `done(${p.split('\n')[0]})` };
    });
    cleanups.push(() => fake.close());
    const { dir, cleanup } = tempDir('troupe-orch-kill-');
    cleanups.push(cleanup);
    const config = join(dir, 'troupe.json');
    writeFileSync(config, JSON.stringify({
      agents: [{ name: 'assistant' }, { name: 'worker', skills: [{ id: 'steps', name: 'step' }] }],
      orchestrator: { nodeRetries: 0, planner: 'offline', classifier: 'heuristic' },
    }));
    const args = ['--config', config, '--data', join(dir, 'data'), '--http-port', '0', '--peer-port', '0', '--node', 'k9'];
    const env = { OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: 'sk-fake-key-123', TROUPE_LOG_LEVEL: 'warn' };
    const one = await startTroupe(args, env);
    procs.push(one);
    const res = await fetch(`${one.ready.http}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-orchestrate': 'true' },
      body: JSON.stringify({ model: 'troupe', stream: true, messages: [{ role: 'user', content: 'step one, then step two, then step three' }] }),
    });
    expect(res.status, one.lines.join('\n')).toBe(200);
    const id = res.headers.get('x-session-id')!;
    expect(id).toMatch(/^ses_/);
    res.body?.cancel().catch(() => undefined);
    await until(() => fake.calls.some((c) => promptOf(c).startsWith('step two')), 30_000, 'step two reached the upstream');
    await one.kill();
    procs.splice(procs.indexOf(one), 1);
    expect(fake.calls.filter((c) => promptOf(c).startsWith('step one'))).toHaveLength(1);

    hold = false;
    const two = await startTroupe(args, env);
    procs.push(two);
    let session: any;
    await until(async () => {
      session = await fetch(`${two.ready.http}/v1/sessions/${id}`).then((r) => r.json());
      return session.status === 'completed';
    }, 30_000, 'the session completed after the restart');
    const count = (prefix: string): number => fake.calls.filter((c) => promptOf(c).startsWith(prefix)).length;
    expect([count('step one'), count('step two'), count('step three')]).toEqual([1, 2, 1]);
    expect(session.dag.nodes.map((n: any) => [n.id, n.status, n.attempts])).toEqual([['s1', 'completed', 1], ['s2', 'completed', 2], ['s3', 'completed', 1]]);
    expect(session.answer).toBe('done(step three)');
    expect(session.dag.nodes[1].result).toBe('done(step two)');
  }, 120_000);
});
