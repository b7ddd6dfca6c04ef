import { expect } from 'vitest';
import { startNode, type RunningNode, type StartNodeOptions } from '../../index.js';
import { OpenAIProvider, type ModelProvider, type OpenAIProviderOptions } from '../../actors/agent/index.js';
import type { OpenAIProviderDeps } from '../../actors/agent/model/index.js';
import { TroupeError } from '../../protocol/index.js';
import { startFakeOpenAI, type FakeOpenAI, type FakeOpenAIOptions, type FakeScript } from '../fixtures/fake-openai.js';
import { silent, tempDir } from '../helpers.js';

/** A provider on the fake upstream with short waits, so failure paths run fast. */
export function fakeProvider(fake: FakeOpenAI, options: OpenAIProviderOptions = {}, deps: Omit<OpenAIProviderDeps, 'logger'> = {}): ModelProvider {
  return new OpenAIProvider(
    { baseURL: fake.url, apiKey: 'sk-fake', defaultModel: 'gpt-fake', backoffBaseMs: 5, backoffMaxMs: 20, maxRetries: 0, ...options },
    { logger: silent, ...deps },
  );
}

const cleanups: Array<() => Promise<void> | void> = [];

/** Run (and empty) the cleanups registered by the helpers; call it in afterEach. */
export async function cleanup(): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) await c();
}

/** A temp data dir removed at cleanup. */
export function dataDir(): string {
  const t = tempDir('troupe-agent-');
  cleanups.push(t.cleanup);
  return t.dir;
}

/**
 * A node for tests: silent, no HTTP unless asked, and never the environment's model
 * (the offline model unless a provider is given), closed at cleanup.
 */
export async function testNode(options: StartNodeOptions = {}): Promise<RunningNode> {
  const node = await startNode({
    id: 't',
    logger: silent,
    http: false,
    ...(options.modelProvider || options.model ? {} : { model: { provider: 'offline' } }),
    ...options,
  });
  cleanups.push(() => node.close());
  return node;
}

/** Register a cleanup. */
export function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(fn);
}

/** The text of the last user message of a recorded upstream request. */
export function lastUser(body: any): string {
  const m = [...(body?.messages ?? [])].reverse().find((x: any) => x.role === 'user');
  return typeof m?.content === 'string' ? m.content : '';
}

/** A fake OpenAI upstream closed at cleanup. */
export async function fakeUpstream(script: FakeScript, options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const fake = await startFakeOpenAI(script, options);
  onCleanup(() => fake.close());
  return fake;
}

/** The TroupeError a promise rejects with (the test fails if it resolves or throws anything else). */
export async function failure(p: Promise<unknown>): Promise<TroupeError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(TroupeError);
  return e as TroupeError;
}
