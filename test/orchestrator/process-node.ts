import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI, type RecordedRequest } from '../fixtures/fake-openai.js';
import { tempDir, until } from '../helpers.js';
import { startTroupe, type TroupeProcess } from '../process.js';

const procs: TroupeProcess[] = [];
const cleanups: Array<() => void | Promise<void>> = [];

/** Kill the processes and remove the dirs of each test (call once per file). */
export function cleanUpAfterEach(): void {
  afterEach(async () => {
    for (const p of procs.splice(0)) await p.kill().catch(() => undefined);
    for (const c of cleanups.splice(0)) await c();
  });
}

/** The last user message of an upstream call: the node's prompt. */
export function promptOf(call: RecordedRequest): string {
  const msgs = (call.body?.messages ?? []) as Array<{ role: string; content: unknown }>;
  const last = [...msgs].reverse().find((m) => m.role === 'user');
  return typeof last?.content === 'string' ? last.content : '';
}

/** A workflow of two agents whose external calls wait for an approval (offline planner and classifier). */
export const APPROVAL_WORKFLOW = {
  agents: [{ name: 'assistant' }, { name: 'worker' }],
  orchestrator: { nodeRetries: 0, planner: 'offline', classifier: 'heuristic', approvalFor: ['external_call'] },
} as const;

/** A `troupe start` setup (config file, data dir) against a fake upstream that hangs on prompts starting with `holdPrefix` until `release()`. */
export interface ProcessSetup {
  fake: FakeOpenAI;
  /** Start (again) a `troupe start` process on the same config and data dir. */
  start(): Promise<TroupeProcess>;
  /** kill -9 a process of this setup (the test's crash: cleanup leaves it alone). */
  kill(p: TroupeProcess): Promise<void>;
  /** Let the held prompts through. */
  release(): void;
  /** How many upstream calls had a prompt starting with `prefix`. */
  count(prefix: string): number;
  /** The session as `p` shows it (`GET /v1/sessions/:id`), once it has completed. */
  completedSession(p: TroupeProcess, id: string): Promise<any>;
}

export async function processSetup(o: { node: string; holdPrefix: string; config: Record<string, unknown> }): Promise<ProcessSetup> {
  let hold = true;
  const fake = await startFakeOpenAI((call) => {
    const p = promptOf(call);
    if (hold && p.startsWith(o.holdPrefix)) return { kind: 'hang' };
    return { kind: 'text', text: `done(${p.split('\n')[0]})` };
  });
  cleanups.push(() => fake.close());
  const { dir, cleanup } = tempDir(`troupe-orch-${o.node}-`);
  cleanups.push(cleanup);
  const config = join(dir, 'troupe.json');
  writeFileSync(config, JSON.stringify(o.config));
  const args = ['--config', config, '--data', join(dir, 'data'), '--http-port', '0', '--peer-port', '0', '--node', o.node];
  const env = { OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: 'sk-fake-key-123', TROUPE_LOG_LEVEL: 'warn' };
  return {
    fake,
    start: async () => {
      const p = await startTroupe(args, env);
      procs.push(p);
      return p;
    },
    kill: async (p) => {
      await p.kill();
      procs.splice(procs.indexOf(p), 1);
    },
    release: () => void (hold = false),
    count: (prefix) => fake.calls.filter((c) => promptOf(c).startsWith(prefix)).length,
    completedSession: async (p, id) => {
      let session: any;
      await until(async () => {
        session = await fetch(`${p.ready.http}/v1/sessions/${id}`).then((r) => r.json());
        return session.status === 'completed';
      }, 30_000, `session ${id} completed`);
      return session;
    },
  };
}
