import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startNode, type RunningNode } from '../../index.js';
import type { A2AApi } from '../../actors/index.js';
import { startFakeOpenAI, type FakeOpenAI } from '../fixtures/fake-openai.js';
import { silent, tempDir, until } from '../helpers.js';
import { PROCESS_TEST_TIMEOUT_MS, startTroupe, type TroupeProcess } from '../process.js';

const cleanups: Array<() => unknown> = [];
const procs: TroupeProcess[] = [];
let n1: RunningNode | undefined;
let fake: FakeOpenAI | undefined;
afterAll(async () => {
  for (const p of procs) await p.kill().catch(() => undefined);
  await n1?.close();
  await fake?.close();
  cleanups.forEach((c) => c());
});

const userOf = (body: any): string => [...(body?.messages ?? [])].reverse().find((m: any) => m.role === 'user')?.content ?? '';

describe('A2A EXECUTE and kill -9 of the receiving node', { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  it('a run interrupted by kill -9 is failed with TROUPE_ERR_A2A_TASK_INTERRUPTED after the restart and never run again; a finished one is answered from the journal', async () => {
    fake = await startFakeOpenAI((call) => (userOf(call.body).startsWith('hang') ? { kind: 'hang' } : { kind: 'text', text: `done ${userOf(call.body)}` }));
    const count = (text: string): number => fake!.calls.filter((c) => userOf(c.body) === text).length;
    const d1 = tempDir('troupe-dlgk1-');
    const d2 = tempDir('troupe-dlgk2-');
    cleanups.push(d1.cleanup, d2.cleanup);
    n1 = await startNode({ id: 'k9-1', dataDir: d1.dir, logger: silent, http: false, cluster: { port: 0, heartbeatMs: 150 }, model: { provider: 'offline' } });
    const config = join(d2.dir, 'troupe.config.json');
    writeFileSync(config, JSON.stringify({ agents: [{ name: 'b', instructions: 'work' }] }));
    const start = async (peerPort: string): Promise<TroupeProcess> => {
      const p = await startTroupe(['--node', 'k9-2', '--config', config, '--http-port', '0', '--peer-port', peerPort, '--data', join(d2.dir, 'data'), '--peers', n1!.peer!.url, '--heartbeat-ms', '150'], {
        OPENAI_BASE_URL: fake!.url, OPENAI_API_KEY: 'sk-fake', TROUPE_MODEL: 'gpt-fake', TROUPE_LOG_LEVEL: 'warn',
      });
      procs.push(p);
      return p;
    };
    const first = await start('0');
    await until(() => n1!.peers().includes('k9-2'), 30_000, 'node 2 up');
    const api = n1.module<A2AApi>('a2a').delegation;

    const done = await api.execute('b', 'quick', { id: 'k9-done' });
    expect(done).toMatchObject({ status: 'completed', content: 'done quick', node: 'k9-2' });

    const hanging = api.execute('b', 'hang on', { id: 'k9-hang', timeoutMs: 120_000, retries: 0 });
    await until(() => count('hang on') === 1, 30_000, 'the run reached the model');
    await first.kill();
    await until(() => !n1!.peers().includes('k9-2'), 30_000, 'node 2 down');
    await start(new URL(first.ready.peer!).port);

    // told by the restarted node, durably, without a retry from here
    const interrupted = await hanging;
    expect(interrupted).toMatchObject({ inReplyTo: 'k9-hang', status: 'failed', from: 'b', node: 'k9-2', error: { code: 'TROUPE_ERR_A2A_TASK_INTERRUPTED' } });
    expect((await api.status('b', 'k9-hang')).state).toBe('failed');
    // repeats are answered from the journal: the interrupted one is not run again, the finished one neither
    expect(await api.execute('b', 'hang on', { id: 'k9-hang' })).toMatchObject({ status: 'failed', error: { code: 'TROUPE_ERR_A2A_TASK_INTERRUPTED' } });
    expect(await api.execute('b', 'quick', { id: 'k9-done' })).toMatchObject({ status: 'completed', content: 'done quick' });
    expect(count('hang on')).toBe(1);
    expect(count('quick')).toBe(1);
    // the node still runs new work
    expect(await api.execute('b', 'fresh', { id: 'k9-fresh' })).toMatchObject({ status: 'completed', content: 'done fresh' });
  });
});
