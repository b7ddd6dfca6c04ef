import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from '../fixtures/fake-openai.js';
import { tempDir } from '../helpers.js';
import { ROOT, startTroupe, type TroupeProcess } from '../process.js';

const CONFIG = join(ROOT, 'troupe.config.json');
const OFFLINE_ENV = { OPENAI_BASE_URL: '', OPENAI_API_KEY: '', TROUPE_MODEL: '' };

const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

function data(): string {
  const t = tempDir('troupe-gw-');
  cleanups.push(t.cleanup);
  return t.dir;
}

async function start(dir: string, env: Record<string, string> = {}): Promise<TroupeProcess> {
  const p = await startTroupe(['--config', CONFIG, '--http-port', '0', '--peer-port', '0', '--data', dir], { ...OFFLINE_ENV, ...env });
  cleanups.push(() => p.kill().catch(() => undefined));
  return p;
}

/** The code block that follows `<!-- readme-test: name -->` in the README. */
function readmeBlock(name: string): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf(`<!-- readme-test: ${name} -->`);
  expect(at, `README marker ${name}`).toBeGreaterThan(-1);
  const m = /```[a-z]*\n([\s\S]*?)```/.exec(readme.slice(at));
  return m![1]!;
}

function run(file: string, args: string[], opts: { cwd?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: opts.cwd ?? ROOT, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('troupe start with the shipped config', () => {
  it('serves the demo agents, and the README examples work as written (curl and the openai package)', async () => {
    const p = await start(data());
    const ready = p.lines.find((l) => l.includes('model provider'));
    expect(ready).toContain('troupe-offline');
    const here = p.ready.http;

    const curl = readmeBlock('curl').replaceAll('http://127.0.0.1:8787', here);
    const c = await run('sh', ['-c', curl]);
    expect(c.stderr).toBe('');
    const body = JSON.parse(c.stdout);
    expect(body).toMatchObject({ object: 'chat.completion', model: 'assistant', choices: [{ message: { role: 'assistant', content: '[troupe-offline] You said: Hello, troupe!' }, finish_reason: 'stop' }] });

    const file = join(ROOT, 'test', 'gateway', `.readme-example-${process.pid}.mjs`);
    writeFileSync(file, readmeBlock('openai').replaceAll('http://127.0.0.1:8787', here));
    cleanups.push(() => rmSync(file, { force: true }));
    const js = await run(process.execPath, [file]);
    expect(js.stderr).toBe('');
    expect(js.stdout).toBe('[troupe-offline] calculator returned: {"expression":"6 * 7","value":42}\n[troupe-offline] You said: Stream me a reply\n');

    const models = await (await fetch(`${here}/v1/models`)).json() as any;
    expect(models.data.map((m: any) => [m.id, m.owned_by])).toEqual([['assistant', 'troupe-offline'], ['echo', 'troupe-offline']]);
    expect(await p.stop()).toBe(0);
  });
});

describe('kill -9 during a multi-turn conversation', () => {
  let fake: FakeOpenAI;

  it('keeps the history and never re-sends completed turns to the model after a restart', async () => {
    const echo = (call: { body: any }) => {
      const last = [...call.body.messages].reverse().find((m: any) => m.role === 'user');
      return { kind: 'text' as const, text: `noted: ${last.content}` };
    };
    fake = await startFakeOpenAI(echo);
    cleanups.push(() => fake.close());
    const env = { OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: 'sk-fake-upstream', TROUPE_MODEL: 'gpt-fake' };
    const dir = data();
    const p1 = await start(dir, env);
    expect(p1.lines.find((l) => l.includes('model provider'))).toContain(fake.url);
    const headers = { 'x-conversation-id': 'trip-42' };
    const client = (url: string) => new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });

    const c1 = client(p1.ready.http);
    const t1 = await c1.chat.completions.create({ model: 'assistant', messages: [{ role: 'user', content: 'My name is Ada.' }] }, { headers });
    expect(t1.choices[0]!.message.content).toBe('noted: My name is Ada.');
    const t2 = await c1.chat.completions.create({ model: 'assistant', messages: [{ role: 'user', content: 'I live in Paris.' }], stream: true }, { headers });
    let streamed = '';
    for await (const chunk of t2) streamed += chunk.choices[0]?.delta?.content ?? '';
    expect(streamed).toBe('noted: I live in Paris.');
    // An agent created over HTTP must come back too.
    const created = await fetch(`${p1.ready.http}/api/v1/agents`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'travel', instructions: 'Plan trips.', tools: ['clock'] }),
    });
    expect(created.status).toBe(201);

    // Third turn: the upstream stalls, and the node is killed while it waits.
    fake.setScript({ kind: 'stall', chunks: 1 });
    const doomed = c1.chat.completions.create({ model: 'assistant', messages: [{ role: 'user', content: 'What is my name?' }] }, { headers }).catch((e: unknown) => e);
    await fake.waitForCall(2);
    await p1.kill();
    expect(await doomed).toBeInstanceOf(Error);
    expect(fake.calls).toHaveLength(3);

    fake.setScript(echo);
    const p2 = await start(dir, env);
    const conv = await (await fetch(`${p2.ready.http}/api/v1/agents/assistant/conversations/trip-42`)).json() as any;
    expect(conv.messages).toEqual([
      { role: 'user', content: 'My name is Ada.' },
      { role: 'assistant', content: 'noted: My name is Ada.' },
      { role: 'user', content: 'I live in Paris.' },
      { role: 'assistant', content: 'noted: I live in Paris.' },
    ]);
    // Recovery replayed the journal: no model call for completed turns.
    expect(fake.calls).toHaveLength(3);
    const agents = await (await fetch(`${p2.ready.http}/api/v1/agents`)).json() as any;
    expect(agents.agents.map((a: any) => a.name)).toEqual(['assistant', 'echo', 'travel']);

    const t3 = await client(p2.ready.http).chat.completions.create({ model: 'assistant', messages: [{ role: 'user', content: 'What is my name?' }] }, { headers });
    expect(t3.choices[0]!.message.content).toBe('noted: What is my name?');
    expect(fake.calls).toHaveLength(4);
    const sent = fake.calls[3]!.body.messages.map((m: any) => `${m.role}:${m.content}`);
    expect(sent).toEqual([
      expect.stringMatching(/^system:You are a concise/),
      'user:My name is Ada.',
      'assistant:noted: My name is Ada.',
      'user:I live in Paris.',
      'assistant:noted: I live in Paris.',
      'user:What is my name?',
    ]);

    // DELETE removes the durable agent for good.
    expect((await fetch(`${p2.ready.http}/api/v1/agents/travel`, { method: 'DELETE' })).status).toBe(200);
    expect(await p2.stop()).toBe(0);
    const p3 = await start(dir, env);
    const after = await (await fetch(`${p3.ready.http}/api/v1/agents`)).json() as any;
    expect(after.agents.map((a: any) => a.name)).toEqual(['assistant', 'echo']);
    expect(await p3.stop()).toBe(0);
  });
});
