import { startNode, behaviour } from 'troupe';

// Logs are JSON lines on stdout; 'error' keeps this demo's deliberate crash out of its output.
const node = await startNode({ id: 'demo', http: false, logLevel: 'error' }); // add dataDir: './data' for persistence

// A behaviour is a function of (state, message, context) -> next state.
const counter = behaviour({
  initial: () => ({ n: 0 }),
  receive: (state, msg, ctx) => {
    if (msg.type === 'inc') return { n: state.n + 1 };
    if (msg.type === 'get') ctx.reply(state.n); // returning nothing keeps the state
    if (msg.type === 'boom') throw new Error('boom');
  },
});

// A supervisor: restart children one-for-one, at most 3 times in 5 s, with backoff.
node.spawnSupervisor({
  name: 'counters',
  supervision: { strategy: 'one-for-one', maxRestarts: 3, withinMs: 5_000, backoff: { minMs: 10, maxMs: 1_000 } },
  children: [{ name: 'a', behaviour: counter, poisonAfter: 1 }],
});

node.tell('user/counters/a', { type: 'inc' });
node.tell('user/counters/a', { type: 'inc' });
console.log('count:', await node.ask('user/counters/a', { type: 'get' })); // count: 2
node.tell('user/counters/a', { type: 'boom' }); // crashes; the supervisor restarts it after 10 ms
console.log('after restart:', await node.ask('user/counters/a', { type: 'get' }, { timeoutMs: 1_000 })); // after restart: 0
await node.close();
