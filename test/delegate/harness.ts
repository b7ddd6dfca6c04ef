import { startNode, type RunningNode, type StartNodeOptions } from '../../index.js';
import type { A2AApi } from '../../actors/index.js';
import { startFakeOpenAI, type FakeOpenAI } from '../fixtures/fake-openai.js';
import { silent } from '../helpers.js';
import { delegationScript } from './script.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];

/** Close what the tests started (afterEach). */
export async function cleanup(): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => undefined);
}

/** The fake upstream running {@link delegationScript}. */
export async function fakeUpstream(): Promise<FakeOpenAI> {
  const fake = await startFakeOpenAI(delegationScript);
  cleanups.push(() => fake.close());
  return fake;
}

/** A node with a gateway on port 0 whose agents use the fake upstream (no SDK retries). */
export async function delegationNode(fake: FakeOpenAI, options: StartNodeOptions = {}): Promise<RunningNode & { http: { url: string } }> {
  const node = await startNode({
    id: 'dlg-1',
    logger: silent,
    http: { port: 0 },
    model: { provider: 'openai', baseURL: fake.url, apiKey: 'sk-fake', model: 'gpt-fake', maxRetries: 0 },
    ...options,
  });
  cleanups.push(() => node.close());
  return node as RunningNode & { http: { url: string } };
}

/** The a2a module's delegation API of a node. */
export function delegation(node: RunningNode): A2AApi['delegation'] {
  return node.module<A2AApi>('a2a').delegation;
}
