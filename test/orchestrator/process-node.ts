import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI, type RecordedRequest } from '../fixtures/fake-openai.js';
import { tempDir } from '../helpers.js';
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

/** A `troupe start` setup (config file, data dir) against a fake upstream that hangs on prompts starting with `holdPrefix` until `release()`. */
export interface ProcessSetup {
  fake: FakeOpenAI;
  /** Start (again) a `troupe start` process on the same config and data dir. */
  start(): Promise<TroupeProcess>;
  /** Forget a process the test killed itself. */
  forget(p: TroupeProcess): void;
  release(): void;
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
    forget: (p) => void procs.splice(procs.indexOf(p), 1),
    release: () => void (hold = false),
  };
}
