import { afterEach, describe, expect, it } from 'vitest';
import { ModelPlanner, createProvider, modelClassifier, type AgentCard } from '../../actors/index.js';
import { startFakeOpenAI, type FakeOpenAI } from '../fixtures/fake-openai.js';
import { silent } from '../helpers.js';

const fakes: FakeOpenAI[] = [];
afterEach(async () => {
  for (const f of fakes.splice(0)) await f.close();
});

const AGENTS: AgentCard[] = [
  { name: 'research', skills: [{ id: 'search', name: 'search' }] },
  { name: 'writer', skills: [{ id: 'write', name: 'write' }] },
];
const node = (id: string, agent = 'research', extra: Record<string, unknown> = {}) => ({ id, agent, instruction: `do ${id}`, ...extra });
const CYCLE = { nodes: [node('a'), node('b')], edges: [{ from: 'a', to: 'b' }, { from: 'b', to: 'a' }] };
const UNKNOWN = { nodes: [node('a', 'ghost'), node('b', 'writer', { inputs: ['a'] })], edges: [{ from: 'a', to: 'b' }] };
const GOOD = { nodes: [node('a'), node('b', 'writer', { inputs: ['a'] })], edges: [{ from: 'a', to: 'b' }], output: 'b' };

async function planner(replies: string[], attempts = 3) {
  const fake = await startFakeOpenAI(replies.map((text) => ({ kind: 'text' as const, text })));
  fakes.push(fake);
  const provider = createProvider({ provider: 'openai', baseURL: fake.url, apiKey: 'sk-test-planner', maxRetries: 0 } as never, { logger: silent });
  return { fake, planner: new ModelPlanner({ provider: () => provider, temperature: 0, maxAttempts: attempts, logger: silent }), provider };
}

function userTurns(body: { messages: Array<{ role: string; content: string }> }): string[] {
  return body.messages.filter((m) => m.role === 'user').map((m) => m.content);
}

describe('the model planner (a fake upstream over HTTP)', () => {
  it('sends invalid plans back with their problems until the model corrects them', async () => {
    const { fake, planner: p } = await planner([JSON.stringify(CYCLE), JSON.stringify(UNKNOWN), JSON.stringify(GOOD)]);
    const dag = await p.plan({ request: 'find and write', agents: AGENTS });
    expect(dag.output).toBe('b');
    expect(fake.calls).toHaveLength(3);
    const first = fake.calls[0]!.body;
    expect(first.response_format).toMatchObject({ type: 'json_schema', json_schema: { name: 'workflow_plan' } });
    expect(first.response_format.json_schema.schema.properties.nodes).toBeDefined();
    expect(first.temperature).toBe(0);
    expect(first.messages[0].content).toContain('"research"');
    expect(userTurns(fake.calls[1]!.body).at(-1)).toContain('cycle through nodes a, b');
    expect(userTurns(fake.calls[2]!.body).at(-1)).toContain('node a: unknown agent ghost');
  });

  it('refuses with TROUPE_ERR_PLAN_INVALID after its last attempt, naming the problems', async () => {
    const { fake, planner: p } = await planner(['not json', JSON.stringify(CYCLE)], 2);
    await expect(p.plan({ request: 'x', agents: AGENTS })).rejects.toMatchObject({
      code: 'TROUPE_ERR_PLAN_INVALID', status: 400, details: { attempts: 2, problems: ['cycle through nodes a, b'] },
    });
    expect(fake.calls).toHaveLength(2);
    expect(userTurns(fake.calls[1]!.body).at(-1)).toMatch(/the answer is not JSON/);
  });
});

describe('the model classifier', () => {
  it('routes by the structured answer, and falls back to the heuristic when the model answers out of shape', async () => {
    const fake = await startFakeOpenAI([
      { kind: 'text', text: JSON.stringify({ needs_orchestration: true, reason: 'several steps' }) },
      { kind: 'text', text: 'sure!' },
    ]);
    fakes.push(fake);
    const provider = createProvider({ provider: 'openai', baseURL: fake.url, apiKey: 'sk-test-classifier', maxRetries: 0 } as never, { logger: silent });
    const classify = modelClassifier({ provider: () => provider, temperature: 0, logger: silent });
    expect(await classify('plan my trip')).toEqual({ route: 'complex', reason: 'model:several steps' });
    expect(fake.calls[0]!.body.response_format).toMatchObject({ type: 'json_schema', json_schema: { name: 'routing_decision', strict: true } });
    expect(await classify('hi')).toEqual({ route: 'simple', reason: 'fallback:heuristic:single-step' });
  });
});
