import { describe, expect, it } from 'vitest';
import { TaskState, type Task } from '@a2a-js/sdk';
import { ClientFactory, ClientFactoryOptions, DefaultAgentCardResolver, JsonRpcTransportFactory, type Client } from '@a2a-js/sdk/client';
import { until } from '../helpers.js';
import { sendParams, userMessage } from '../a2a/harness.js';
import { APPROVAL_WORKFLOW, cleanUpAfterEach, processSetup } from './process-node.js';

cleanUpAfterEach();

const nodeClient = (url: string): Promise<Client> => new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
  transports: [new JsonRpcTransportFactory({ fetchImpl: fetch })], cardResolver: new DefaultAgentCardResolver({ fetchImpl: fetch }),
})).createFromUrl(url);

describe('the A2A view of a workflow across kill -9 (real processes)', () => {
  it('an input-required workflow task survives kill -9 and an A2A decision after the restart resumes it; kill -9 between that decision and its effect gives the effect once', async () => {
    const setup = await processSetup({ node: 'k9w', holdPrefix: 'send the report', config: APPROVAL_WORKFLOW });
    const count = setup.count;
    const one = await setup.start();
    const m = userMessage('find prices, then send the report');
    m.metadata = { orchestrate: true };
    const first = await (await nodeClient(one.ready.http)).sendMessage(sendParams(m)) as Task;
    expect(first.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    const id = first.metadata!['session_id'] as string;
    expect(first.status?.message?.metadata).toMatchObject({ approval_id: `${id}.s2`, node: 's2' });
    await setup.kill(one);

    const two = await setup.start();
    const client2 = await nodeClient(two.ready.http);
    expect((await client2.getTask({ tenant: '', id: first.id, historyLength: undefined })).status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    // the decision comes back at once (returnImmediately); its effect is held at the upstream
    await client2.sendMessage(sendParams(userMessage('approve: go ahead', { taskId: first.id }), { acceptedOutputModes: [], taskPushNotificationConfig: undefined, returnImmediately: true }));
    await until(() => count('send the report') === 1, 30_000, 'the approved node reached the upstream');
    const decided = await fetch(`${two.ready.http}/v1/approvals/${id}.s2`).then((r) => r.json()) as Record<string, unknown>;
    expect(decided).toMatchObject({ status: 'approved', reason: 'go ahead', source: 'a2a' });
    await setup.kill(two);

    setup.release();
    const three = await setup.start();
    const session = await setup.completedSession(three, id);
    // the decision was taken once and kept; the node that was running ran again, once, to completion
    expect(session.approvals).toHaveLength(1);
    expect(session.approvals[0]).toMatchObject({ status: 'approved', source: 'a2a' });
    expect(session.dag.nodes.map((n: any) => [n.id, n.status, n.attempts])).toEqual([['s1', 'completed', 1], ['s2', 'completed', 2]]);
    expect(session.dag.nodes[1].a2a_tasks).toHaveLength(2);
    expect(session.answer).toBe('done(send the report)');
    expect([count('find prices'), count('send the report')]).toEqual([1, 2]);
    // the workflow task that was following the session when the process died says so truthfully
    const task = await (await nodeClient(three.ready.http)).getTask({ tenant: '', id: first.id, historyLength: undefined });
    expect(task.status?.state).toBe(TaskState.TASK_STATE_FAILED);
    expect(task.metadata).toMatchObject({ session_id: id, code: 'TROUPE_ERR_A2A_TASK_INTERRUPTED' });
    // and a late A2A decision on it changes nothing
    await expect((await nodeClient(three.ready.http)).sendMessage(sendParams(userMessage('reject', { taskId: first.id })))).rejects.toMatchObject({ name: 'UnsupportedOperationError' });
  }, 150_000);
});
