// Run after `npm install` (which builds nothing) with: npm run build && node examples/quickstart.mjs
import { startNode, behaviour } from '../dist/index.js';

const node = await startNode({ id: 'demo', http: false, logLevel: 'warn' });

// A behaviour is a function of (state, message, context).
const counter = behaviour({
  initial: () => ({ n: 0 }),
  receive: (state, msg, ctx) => {
    if (msg.type === 'inc') return { n: state.n + 1 };
    if (msg.type === 'get') ctx.reply(state.n);
    if (msg.type === 'boom') throw new Error('boom');
  },
});

// A supervisor restarting its children one-for-one, at most 3 times in 5 s, with backoff.
node.spawnSupervisor({
  name: 'counters',
  supervision: { strategy: 'one-for-one', maxRestarts: 3, withinMs: 5_000, backoff: { minMs: 10, maxMs: 1_000 } },
  children: [{ name: 'a', behaviour: counter, poisonAfter: 1 }],
});

node.tell('user/counters/a', { type: 'inc' });
node.tell('user/counters/a', { type: 'inc' });
console.log('count:', await node.ask('user/counters/a', { type: 'get' })); // 2
node.tell('user/counters/a', { type: 'boom' }); // crashes; the supervisor restarts it after 10 ms
console.log('after restart:', await node.ask('user/counters/a', { type: 'get' }, { timeoutMs: 1_000 })); // 0
await node.close();
