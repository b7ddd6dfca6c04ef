import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { TaskState, type Task } from '@a2a-js/sdk';
import { ClientFactory as ClientFactory03 } from 'a2a-sdk-03/client';
import { startNode, type RunningNode } from '../../index.js';
import { silent } from '../helpers.js';
import { PROCESS_TEST_TIMEOUT_MS, startFixture, type TroupeProcess } from '../process.js';
import { answerOf, sendParams, userMessage, v1Client } from '../a2a/harness.js';

interface Call { method: string; text: string; taskId: string }

let fixture: TroupeProcess;
let node: RunningNode & { http: { url: string } };

beforeAll(async () => {
  fixture = await startFixture('a2a-external-server.mjs', ['0']);
  node = await startNode({
    id: 'ext-wait', logger: silent, http: { port: 0 }, model: { provider: 'offline' },
    externalAgents: { allowLoopback: true },
    agents: [{ name: 'far', description: 'the fixture, by proxy', a2a: { url: fixture.ready.http } }],
  }) as RunningNode & { http: { url: string } };
}, PROCESS_TEST_TIMEOUT_MS);

afterAll(async () => {
  await node?.close();
  await fixture?.kill();
});

const calls = async (): Promise<Call[]> => (await fetch(`${fixture.ready.http}/calls`)).json() as Promise<Call[]>;

describe("a remote task that waits on its client shows as waiting through the proxy agent's own A2A task", () => {
  it('input-required: our task waits with the remote question; the follow-up to our task resumes the remote task, once', async () => {
    const client = await v1Client(node.http.url, 'far');
    const waiting = await client.sendMessage(sendParams(userMessage('ask me'))) as Task;
    expect(waiting.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    expect(waiting.status?.message?.parts[0]?.content).toEqual({ $case: 'text', value: 'what is your name?' });
    const remoteTask = (await calls()).filter((c) => c.method === 'SendMessage').at(-1)!;
    expect(remoteTask.taskId).toBe('');

    const answer = userMessage('Ada', { taskId: waiting.id, contextId: waiting.contextId });
    const done = await client.sendMessage(sendParams(answer)) as Task;
    expect(done.id).toBe(waiting.id);
    expect(done.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(answerOf(done)).toBe('hello Ada');
    // the follow-up went to the remote task that waited (not a new one)
    const follow = (await calls()).filter((c) => c.method === 'SendMessage').at(-1)!;
    expect(follow).toMatchObject({ text: 'Ada' });
    expect(follow.taskId).not.toBe('');
    // a repeat of the follow-up gets the same answer and sends nothing more
    const n = (await calls()).length;
    expect(((await client.sendMessage(sendParams(answer))) as Task).status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect((await calls()).length).toBe(n);
  });

  it('auth-required: our task is auth-required with the remote message; a follow-up resumes it (streamed, and through the 0.3 client)', async () => {
    const client = await v1Client(node.http.url, 'far');
    const events: any[] = [];
    for await (const ev of client.sendMessageStream(sendParams(userMessage('auth please')))) events.push(ev.payload);
    const last = events.at(-1);
    expect(last).toMatchObject({ $case: 'statusUpdate', value: { status: { state: TaskState.TASK_STATE_AUTH_REQUIRED } } });
    expect(last.value.status.message.parts[0].content.value).toBe('sign in first');
    // no artifact carries the remote's message as if it were an answer
    expect(events.filter((e) => e.$case === 'artifactUpdate')).toHaveLength(0);
    const id = events[0].value.id as string;
    expect((await client.getTask({ tenant: '', id, historyLength: undefined })).status?.state).toBe(TaskState.TASK_STATE_AUTH_REQUIRED);

    const old = await new ClientFactory03().createFromUrl(`${node.http.url}/a2a/far/.well-known/agent-card.json`, '');
    const done: any = await old.sendMessage({ message: { kind: 'message', messageId: randomUUID(), role: 'user', parts: [{ kind: 'text', text: 'token-ok' }], taskId: id, contextId: events[0].value.contextId } });
    expect(done).toMatchObject({ id, status: { state: 'completed' } });
    expect(done.artifacts.flatMap((a: any) => a.parts).map((p: any) => p.text).join('')).toBe('hello token-ok');
  });

  it('a caller that cannot wait (the OpenAI API) still gets the question as the answer, and auth-required as a coded failure', async () => {
    const res = await fetch(`${node.http.url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'far', messages: [{ role: 'user', content: 'ask away' }] }),
    });
    expect(((await res.json()) as any).choices[0].message.content).toBe('what is your name?');
    const auth = await fetch(`${node.http.url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'far', messages: [{ role: 'user', content: 'auth now' }] }),
    });
    expect(((await auth.json()) as any).error.code).toBe('TROUPE_ERR_A2A_EXTERNAL_TASK_FAILED');
  });
});
