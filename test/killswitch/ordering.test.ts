import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../protocol/index.js';
import { startNode, type RunningNode } from '../../index.js';
import { KILLSWITCH_MODULE, type KillSwitchRecord, type Switchboard } from '../../actors/killswitch/index.js';
import { silent, tempDir } from '../helpers.js';

const nodes: RunningNode[] = [];
const dirs: Array<() => void> = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
  for (const d of dirs.splice(0)) d();
});

async function node(dir: string, clock: ManualClock): Promise<{ n: RunningNode; board: Switchboard }> {
  const n = await startNode({ id: 'ko', dataDir: dir, logger: silent, clock, http: false, model: { provider: 'offline' }, agents: [{ name: 'w' }] });
  nodes.push(n);
  return { n, board: n.module<Switchboard>(KILLSWITCH_MODULE) };
}

const engage = (at: number, origin = 'peer-1'): KillSwitchRecord => ({ v: 1, scope: 'cluster', target: '*', reason: `engaged at ${at}`, by: 'sre', at, origin });
const release = (at: number, origin = 'peer-1') => ({ type: 'killswitch.release' as const, scope: 'cluster' as const, target: '*', by: 'sre', at, origin });

// Durable delivery guarantees each change arrives, not in which order relative to changes
// from other nodes: the newest change of a switch wins wherever it lands, and stays won.
describe('cluster kill switch changes from other nodes', () => {
  it('apply only when newer than what the node holds, and the outcome survives a restart', async () => {
    const t = tempDir();
    dirs.push(t.cleanup);
    const clock = new ManualClock(10); // behind the changes it will hear of
    let { n, board } = await node(t.dir, clock);

    await board.received({ type: 'killswitch.engage', record: engage(100) });
    expect(board.covered('w')).toBe(true);
    // a release older than the engage it would undo is ignored
    await board.received(release(50));
    expect(board.covered('w')).toBe(true);
    // a newer one releases
    await board.received(release(200));
    expect(board.covered('w')).toBe(false);
    // the engage arriving again (a re-sent copy), or an older one from elsewhere, stays released
    await board.received({ type: 'killswitch.engage', record: engage(100) });
    await board.received({ type: 'killswitch.engage', record: engage(150, 'peer-2') });
    expect(board.covered('w')).toBe(false);
    // same time: the origin breaks the tie, the same way on every node
    await board.received({ type: 'killswitch.engage', record: engage(200, 'peer-0') });
    expect(board.covered('w')).toBe(false);
    await board.received({ type: 'killswitch.engage', record: engage(200, 'peer-9') });
    expect(board.covered('w')).toBe(true);
    await board.received(release(300));
    expect(board.covered('w')).toBe(false);

    // the release is remembered on disk: after a restart an old engage still cannot come back
    await n.close();
    nodes.splice(0);
    ({ n, board } = await node(t.dir, clock));
    await board.received({ type: 'killswitch.engage', record: engage(250) });
    expect(board.covered('w')).toBe(false);
    expect(board.list()).toEqual([]);

    // a local change is stamped after every change the node knows of, even with a clock behind it
    const { switch: sw } = await board.engage({ scope: 'cluster', reason: 'local' });
    expect(sw.at).toBeGreaterThan(300);
    expect(board.covered('w')).toBe(true);
    await board.received(release(300));
    expect(board.covered('w')).toBe(true);
  });
});
