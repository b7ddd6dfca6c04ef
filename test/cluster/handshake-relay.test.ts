import { afterAll, describe, expect, it } from 'vitest';
import { startNode, type RunningNode } from '../../index.js';
import { CLOSE_CODES } from '../../transport/index.js';
import { silent, tempDir, until } from '../helpers.js';
import { PROCESS_TEST_TIMEOUT_MS, startFixture, type TroupeProcess } from '../process.js';
import { relayAttack } from '../transport/relay.js';

const SECRET = 'relay-test-secret';
const procs: TroupeProcess[] = [];
const cleanups: Array<() => void> = [];
let observer: RunningNode | undefined;
afterAll(async () => {
  await Promise.all(procs.map((p) => p.kill().catch(() => undefined)));
  await observer?.close();
  cleanups.forEach((c) => c());
});

function dir(): string {
  const t = tempDir('troupe-relay-');
  cleanups.push(t.cleanup);
  return t.dir;
}

async function fixture(name: string, seeds: string[]): Promise<TroupeProcess> {
  const p = await startFixture('cluster-node.mjs', [name, dir(), '0', seeds.join(',') || '-', '150', SECRET]);
  procs.push(p);
  return p;
}

describe('handshake relay against real nodes', { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  it('an outsider that hands each of two live nodes the other\'s hello and forwards their frames delivers nothing', async () => {
    const a = await fixture('rl-a', []);
    const b = await fixture('rl-b', [a.ready.peer!]);
    // A member that knows the secret, to read the nodes' state afterwards.
    observer = await startNode({ id: 'rl-obs', dataDir: dir(), logger: silent, http: false, cluster: { port: 0, seeds: [a.ready.peer!], heartbeatMs: 150, secret: SECRET } });
    await until(() => observer!.clusterInfo().members.filter((m) => m.status === 'up').length === 3, 30_000, 'three members up');

    const out = await relayAttack(a.ready.peer!, b.ready.peer!, { a: 'rl-a', b: 'rl-b' }, 'user/sink', { n: 1 });
    expect(out.proofs).toBe(0);
    expect(out.closed).toEqual([CLOSE_CODES.protocolError, CLOSE_CODES.protocolError]);
    // The forged batch would have reached each sink before anything the observer sends
    // now (the node refused that frame before it closed the socket).
    for (const node of ['rl-a', 'rl-b']) {
      expect(await observer.ask(`troupe://${node}/user/sink`, { type: 'stats' })).toEqual({ total: 0, distinct: 0, dups: 0 });
    }
    // Neither node lists a stranger, and the genuine mesh is intact.
    expect(observer.clusterInfo().members.map((m) => [m.node, m.status]).sort()).toEqual([['rl-a', 'up'], ['rl-b', 'up'], ['rl-obs', 'up']]);
  });
});
