import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { TaskState, type Task } from '@a2a-js/sdk';
import { ClientFactory, type Client } from '@a2a-js/sdk/client';
import { startNode, type RunningNode } from '../../index.js';
import { ManualClock } from '../../protocol/index.js';
import { cancelRemoteTask } from '../../actors/a2a/external/index.js';
import { settle, until } from '../helpers.js';
import { PROCESS_TEST_TIMEOUT_MS, startFixture, type TroupeProcess } from '../process.js';
import { sendParams, userMessage, v1Client } from '../a2a/harness.js';

// An external A2A server written with the SDK, in its own process; a node whose agent `far` is
// a proxy of it. Canceling our task cancels the remote task behind it, whatever it is doing.
let fixture: TroupeProcess;
let node: RunningNode & { http: { url: string } };
let remote: Client;
const logs: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  fixture = await startFixture('a2a-external-server.mjs', ['0']);
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  node = await startNode({
    id: 'ext-cancel', logger, http: { port: 0 }, model: { provider: 'offline' },
    externalAgents: { allowLoopback: true },
    agents: [{ name: 'far', description: 'the fixture, by proxy', a2a: { url: fixture.ready.http } }],
  }) as RunningNode & { http: { url: string } };
  remote = await new ClientFactory().createFromUrl(`${fixture.ready.http}/.well-known/agent-card.json`, '');
}, PROCESS_TEST_TIMEOUT_MS);

afterAll(async () => {
  await node?.close();
  await fixture?.kill();
});

const noWait = { acceptedOutputModes: [], taskPushNotificationConfig: undefined, returnImmediately: true };
const lastRemoteTask = async (): Promise<string> => ((await (await fetch(`${fixture.ready.http}/last-task`)).json()) as { id: string }).id;
const remoteState = async (id: string) => (await remote.getTask({ tenant: '', id, historyLength: 0 })).status?.state;
const canceledLog = (id: string) => logs.find((l) => l.msg === 'remote A2A task canceled' && (l.taskIds as string[] | undefined)?.includes(id));

describe("canceling a proxy agent's A2A task cancels the remote task behind it", () => {
  it('a task working on a blocking remote call (its remote id not known yet): found by its context, canceled, and logged', async () => {
    const client = await v1Client(node.http.url, 'far');
    const before = await lastRemoteTask();
    const ours = await client.sendMessage(sendParams(userMessage('slow work'), noWait)) as Task;
    let rid = '';
    await until(async () => (rid = await lastRemoteTask()) !== before && rid !== '', 15_000, 'the remote task started');
    expect(await remoteState(rid)).toBe(TaskState.TASK_STATE_WORKING);
    expect((await client.cancelTask({ tenant: '', id: ours.id, metadata: undefined })).status?.state).toBe(TaskState.TASK_STATE_CANCELED);
    await until(async () => (await remoteState(rid)) === TaskState.TASK_STATE_CANCELED, 15_000, 'the remote task canceled');
    await until(() => canceledLog(rid) !== undefined, 5_000, 'the outcome logged');
    expect(canceledLog(rid)).toMatchObject({ agent: 'far', why: 'the call was cancelled', outcome: 'canceled' });
  }, 60_000);

  it('a task waiting on a remote input-required task: the remote task is canceled, and logged', async () => {
    const client = await v1Client(node.http.url, 'far');
    const ours = await client.sendMessage(sendParams(userMessage('ask me something'))) as Task;
    expect(ours.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    const rid = await lastRemoteTask();
    expect(await remoteState(rid)).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    expect((await client.cancelTask({ tenant: '', id: ours.id, metadata: undefined })).status?.state).toBe(TaskState.TASK_STATE_CANCELED);
    await until(async () => (await remoteState(rid)) === TaskState.TASK_STATE_CANCELED, 15_000, 'the remote task canceled');
    await until(() => canceledLog(rid) !== undefined, 5_000, 'the outcome logged');
    expect(canceledLog(rid)).toMatchObject({ agent: 'far', remoteTask: rid, why: "its proxy agent's A2A task was canceled" });
  }, 60_000);

  it('a streamed task working at the remote: canceled there too', async () => {
    const client = await v1Client(node.http.url, 'far');
    const stream = client.sendMessageStream(sendParams(userMessage('slow and streamed')));
    const first = await stream.next();
    const ours = (first.value!.payload as { value: Task }).value.id;
    let rid = '';
    await until(async () => (rid = await lastRemoteTask()) !== '' && (await remoteState(rid)) === TaskState.TASK_STATE_WORKING, 15_000, 'the remote task working');
    await client.cancelTask({ tenant: '', id: ours, metadata: undefined });
    await until(async () => (await remoteState(rid)) === TaskState.TASK_STATE_CANCELED, 15_000, 'the remote task canceled');
    for (let r = await stream.next().catch(() => ({ done: true })); !r.done; r = await stream.next().catch(() => ({ done: true })));
  }, 60_000);
});

describe('a remote cancel is bounded in time', () => {
  it('a remote server that never answers the cancel: given up after cancelTimeoutMs on the clock, and logged as timed out', async () => {
    const clock = new ManualClock(0);
    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
    const never = {
      cancelTask: (_p: unknown, o: { signal: AbortSignal }) => new Promise((_r, reject) => o.signal.addEventListener('abort', () => reject(new Error('aborted')))),
    } as unknown as Client;
    let outcome: unknown;
    void cancelRemoteTask(never, { taskId: 'r1' }, { clock, timeoutMs: 2_000, log, why: 'test' }).then((o) => (outcome = o));
    await settle();
    clock.advance(1_999);
    await settle();
    expect(outcome).toBeUndefined();
    clock.advance(1);
    await settle();
    expect(outcome).toEqual({ outcome: 'timed-out' });
    expect(lines.at(-1)).toMatchObject({ level: 40, remoteTask: 'r1', outcome: 'timed-out', msg: 'remote A2A task cancel timed out after 2000ms' });
  });
});
