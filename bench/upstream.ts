/**
 * A fake OpenAI-compatible upstream for the bench, in a process of its own (like a real
 * upstream, it never shares the measured server's event loop): `POST /v1/chat/completions`
 * answers a fixed completion after `delayMs`, as JSON or, for `stream: true`, as SSE in 20
 * chunks. The parent forks it and gets `{ port }` over IPC.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const delayMs = Number(process.argv[2] ?? 0);
const WORDS = Array.from({ length: 20 }, (_, i) => `word${i} `);
const usage = { prompt_tokens: 24, completion_tokens: 20, total_tokens: 44 };
let seq = 0;

function completion(model: string): string {
  return JSON.stringify({
    id: `chatcmpl-${++seq}`, object: 'chat.completion', created: Math.floor(Date.now() / 1000), model,
    choices: [{ index: 0, message: { role: 'assistant', content: WORDS.join(''), refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage,
  });
}

function sse(model: string): string {
  const id = `chatcmpl-${++seq}`;
  const created = Math.floor(Date.now() / 1000);
  const chunk = (delta: object, finish: string | null, extra: object = {}): string =>
    `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...extra })}\n\n`;
  let out = chunk({ role: 'assistant', content: '' }, null);
  for (const w of WORDS) out += chunk({ content: w }, null);
  out += chunk({}, 'stop');
  out += `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [], usage })}\n\n`;
  return `${out}data: [DONE]\n\n`;
}

const server = createServer((req, res) => {
  const parts: Buffer[] = [];
  req.on('data', (c: Buffer) => parts.push(c));
  req.on('end', () => {
    let body: { model?: string; stream?: boolean } = {};
    try {
      body = JSON.parse(Buffer.concat(parts).toString('utf8')) as typeof body;
    } catch {
      res.writeHead(400).end();
      return;
    }
    const answer = (): void => {
      const model = body.model ?? 'bench-model';
      if (body.stream) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(sse(model));
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(completion(model));
      }
    };
    if (delayMs > 0) setTimeout(answer, delayMs);
    else answer();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port }));
process.on('disconnect', () => process.exit(0));
