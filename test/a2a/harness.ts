import { randomUUID } from 'node:crypto';
import { Role, type Message, type SendMessageRequest, type Task } from '@a2a-js/sdk';
import { ClientFactory, ClientFactoryOptions, DefaultAgentCardResolver, JsonRpcTransportFactory, type Client } from '@a2a-js/sdk/client';
import { startNode, type RunningNode, type StartNodeOptions } from '../../index.js';
import type { ModelProvider, ModelRequest } from '../../actors/agent/index.js';
import { silent } from '../helpers.js';
import { lastUser } from '../agent/harness.js';
import { startFakeOpenAI, type FakeOpenAI } from '../fixtures/fake-openai.js';

const nodes: RunningNode[] = [];

/** Close every node the tests started (afterEach). */
export async function closeNodes(): Promise<void> {
  for (const n of nodes.splice(0).reverse()) await n.close().catch(() => undefined);
}

/** A node with a real gateway on port 0 (offline model unless a provider is given), closed by closeNodes. */
export async function a2aNode(options: StartNodeOptions = {}): Promise<RunningNode & { http: { url: string } }> {
  const node = await startNode({
    id: 'a2a-t',
    logger: silent,
    http: { port: 0 },
    ...(options.modelProvider || options.model || options.modules ? {} : { model: { provider: 'offline' } }),
    ...options,
  });
  nodes.push(node);
  return node as RunningNode & { http: { url: string } };
}

/** The official 1.x client for one agent of a node (card at /a2a/:agent/.well-known/agent-card.json). */
export async function v1Client(baseUrl: string, agent: string, fetchImpl: typeof fetch = fetch): Promise<Client> {
  const factory = new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
    transports: [new JsonRpcTransportFactory({ fetchImpl })],
    cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
  }));
  return factory.createFromUrl(`${baseUrl}/a2a/${agent}/.well-known/agent-card.json`, '');
}

/** A v1 user message of one text part. */
export function userMessage(text: string, extra: { taskId?: string; contextId?: string; messageId?: string } = {}): Message {
  return {
    messageId: extra.messageId ?? randomUUID(), role: Role.ROLE_USER, contextId: extra.contextId ?? '', taskId: extra.taskId ?? '',
    parts: [{ content: { $case: 'text', value: text }, mediaType: 'text/plain', filename: '', metadata: undefined }],
    extensions: [], referenceTaskIds: [], metadata: undefined,
  };
}

/** SendMessage params around a message. */
export function sendParams(message: Message, configuration?: SendMessageRequest['configuration']): SendMessageRequest {
  return { tenant: '', message, configuration, metadata: undefined };
}

/** The text of a task's answer artifact (all parts joined). */
export function answerOf(task: Task): string {
  return task.artifacts.flatMap((a) => a.parts).map((p) => (p.content?.$case === 'text' ? p.content.value : '')).join('');
}

/** POST a raw JSON-RPC body (or text) to an agent's endpoint. */
export async function rpc(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json };
}

/**
 * A model that counts its calls. It asks for input (calls the caller's `request_input` tool)
 * when the last user message is `ask:<question>`, waits on `gate` when one is set, and else
 * answers `done:<last user text>`.
 */
export class CountingModel implements ModelProvider {
  readonly name = 'counting';
  readonly offline = true;
  readonly defaultModel = 'counting';
  calls = 0;
  gate: Promise<void> | undefined;

  async complete(req: ModelRequest): Promise<any> {
    this.calls++;
    if (this.gate) await this.gate;
    const last = [...req.messages].reverse().find((m) => m.role === 'user');
    const text = typeof last?.content === 'string' ? last.content : '';
    const usage = { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 };
    if (text.startsWith('ask:') && req.tools?.some((t) => t.name === 'request_input')) {
      return {
        content: null, finishReason: 'tool_calls', usage, model: 'counting',
        toolCalls: [{ id: `call_${this.calls}`, name: 'request_input', arguments: JSON.stringify({ question: text.slice(4) }) }],
      };
    }
    return { content: `done:${text}`, toolCalls: [], finishReason: 'stop', usage, model: 'counting' };
  }
}

/**
 * The fake upstream of the A2A kill tests: `slow...` hangs (the run stays working),
 * `ask:<q>` calls request_input, anything else answers `done:<text>`. Closed by the caller's
 * cleanups.
 */
export async function killTestUpstream(cleanups: Array<() => Promise<void> | void>): Promise<FakeOpenAI> {
  const fake = await startFakeOpenAI((call) => {
    const text = lastUser(call.body);
    if (text.startsWith('slow')) return { kind: 'hang' };
    if (text.startsWith('ask:')) return { kind: 'tool_calls', calls: [{ name: 'request_input', arguments: JSON.stringify({ question: text.slice(4) }) }] };
    return { kind: 'text', text: `done:${text}` };
  });
  cleanups.push(() => fake.close());
  return fake;
}
