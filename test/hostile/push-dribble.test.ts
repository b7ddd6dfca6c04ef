import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../index.js';
import { PushDelivery, PushOutbox, PushSigner, pushOptionsSchema } from '../../actors/a2a/push/index.js';
import { silent, until } from '../helpers.js';

describe('hostile: a push receiver that answers 200 and then dribbles its body forever', () => {
  it('the connection is dropped at timeoutMs on the node clock after the attempt began, not kept open for the receiver', async () => {
    const open: ServerResponse[] = [];
    let closed = 0;
    const dribbles: NodeJS.Timeout[] = [];
    const server = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('.');
      open.push(res);
      // a byte now and then: never idle, never done
      dribbles.push(setInterval(() => res.write('.'), 200));
      res.on('close', () => closed++);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const clock = new ManualClock(0);
      const options = { ...pushOptionsSchema.parse({ timeoutMs: 5_000 }), allowHosts: ['127.0.0.1'], allowPrivate: false };
      const outbox = new PushOutbox(undefined, 100, silent);
      const delivery = new PushDelivery(outbox, options, clock, silent, await PushSigner.open(undefined, 't'));
      await outbox.add({ v: 1, id: 'n', target: 'x', agent: 'a', taskId: 't', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, body: '{}', contentType: 'application/json', attempts: 0, nextAt: 0, createdAt: 0 });
      delivery.kick();
      await until(() => delivery.stats.delivered === 1, 10_000, 'delivered on its 200');
      expect(closed).toBe(0);
      clock.advance(5_000);
      await until(() => closed === 1, 10_000, 'the dribbling connection dropped');
      await delivery.close();
    } finally {
      for (const d of dribbles) clearInterval(d);
      for (const r of open) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  }, 30_000);
});
