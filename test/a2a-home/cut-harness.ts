import { TaskState } from '@a2a-js/sdk';
import { ServerCallContext, UnauthenticatedUser } from '@a2a-js/sdk/server';
import { startNode, type A2AApi, type RunningNode } from '../../index.js';
import { ManualClock } from '../../protocol/index.js';
import { silent, until } from '../helpers.js';
import { driveUntil, settled, tickOf, type Linked } from '../transport/clocked.js';
import { CountingModel } from '../a2a/harness.js';

// Two nodes in one process on one ManualClock: node A takes the calls for agent `far` of node
// B and forwards them to B's home actor. The peer link between them is cut (a partition: both
// sides hear nothing, each marks the other down) and healed, with time moved by the test.
export const HB = 150;
export const tick = tickOf(HB);
const nodes: RunningNode[] = [];
/** Close the nodes of the test (afterEach). */
export async function closeCut(): Promise<void> {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
}

export const ctx = () => new ServerCallContext({ user: new UnauthenticatedUser() });
export const listAll = { tenant: '', contextId: '', status: TaskState.TASK_STATE_UNSPECIFIED, pageToken: '', statusTimestampAfter: undefined, pageSize: 100, historyLength: undefined, includeArtifacts: false };
const statusOf = (n: RunningNode, id: string) => n.clusterInfo().members.find((m) => m.node === id)?.status;

/** The two nodes, linked and up, with agent `far` on B (its model gated at will), and the cut. */
export async function cluster() {
  const clock = new ManualClock(1_000_000);
  const model = new CountingModel();
  // a window long enough for the partition, its detection and the reconnect, all on the clock
  const a2a = { forward: { retryWindowMs: 120_000, attemptTimeoutMs: 5_000 } };
  const a = await startNode({ id: 'cut-a', logger: silent, http: false, clock, model: { provider: 'offline' }, a2a, cluster: { port: 0, heartbeatMs: HB } });
  nodes.push(a);
  const b = await startNode({ id: 'cut-b', logger: silent, http: false, clock, modelProvider: model, a2a, cluster: { port: 0, heartbeatMs: HB, seeds: [a.peer!.url] } });
  nodes.push(b);
  const both: Linked[] = [{ t: a.cluster!.transport }, { t: b.cluster!.transport }];
  const up = () => statusOf(a, 'cut-b') === 'up' && statusOf(b, 'cut-a') === 'up' && settled(both);
  await driveUntil(clock, both, tick, up, 40 * HB, 'cut-a and cut-b up');
  b.spawnAgent({ name: 'far', description: 'lives on B' });
  const api = a.module<A2AApi>('a2a');
  await until(async () => (await api.endpoint('far'))?.executor === undefined && (await api.endpoint('far')) !== undefined, 15_000, 'A knows of far');
  const viaA = (await api.endpoint('far'))!.handler;
  const onB = (await b.module<A2AApi>('a2a').endpoint('far'))!.handler;
  const gate = () => {
    let release!: () => void;
    model.gate = new Promise<void>((r) => { release = r; });
    return () => { model.gate = undefined; release(); };
  };
  /** Cut the link until both sides have marked the other down; returns the heal. */
  const cut = async (): Promise<() => Promise<void>> => {
    const heal = a.cluster!.transport.partition('cut-b');
    await driveUntil(clock, both, tick, () => statusOf(a, 'cut-b') === 'down' && statusOf(b, 'cut-a') === 'down', 40 * HB, 'both sides see the other down');
    return async () => {
      heal();
      await driveUntil(clock, both, tick, up, 400 * HB, 'the link back');
    };
  };
  return { a, b, clock, both, model, viaA, onB, gate, cut };
}

/** A promise's outcome, when it has one. */
export function follow<T>(p: Promise<T>): { readonly value?: T; readonly error?: unknown; readonly done: boolean } {
  const o: { value?: T; error?: unknown; done: boolean } = { done: false };
  p.then((value) => Object.assign(o, { value, done: true }), (error: unknown) => Object.assign(o, { error, done: true }));
  return o;
}

