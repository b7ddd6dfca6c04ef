import { afterAll, describe, expect, it } from 'vitest';
import { startNode, type RunningNode } from '../../index.js';
import { silent, until } from '../helpers.js';
import { makeCerts } from '../transport/certs.js';

const nodes: RunningNode[] = [];
afterAll(async () => {
  await Promise.all(nodes.map((n) => n.close()));
});

describe('a cluster over mutual TLS', () => {
  it('nodes started with the cluster tls option link over wss and ask across', async () => {
    const { ca, cert, key } = makeCerts();
    const tls = { cert, key, ca, mutual: true };
    const a = await startNode({ id: 't-a', logger: silent, http: false, cluster: { port: 0, tls, secret: 's3cret', heartbeatMs: 150 } });
    nodes.push(a);
    expect(a.peer!.url).toMatch(/^wss:\/\//);
    const b = await startNode({ id: 't-b', logger: silent, http: false, cluster: { port: 0, tls, secret: 's3cret', heartbeatMs: 150, seeds: [a.peer!.url] } });
    nodes.push(b);
    await until(() => a.clusterInfo().members.some((m) => m.node === 't-b' && m.status === 'up'), 10_000, 't-b up');
    b.spawn<null, string>((_s, m, ctx) => ctx.reply(`b got ${m}`), { name: 'echo' });
    expect(await a.ask('troupe://t-b/user/echo', 'hi')).toBe('b got hi');
    expect(b.clusterInfo().members.find((m) => m.node === 't-a')?.peer).toBe(a.peer!.url);
  });
});
