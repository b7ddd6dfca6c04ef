import { randomUUID } from 'node:crypto';
import { a2aNode, CountingModel } from '../harness.js';

/**
 * Wire-level helpers for the A2A TCK requirements ported as tests: a node on port 0 with an
 * echo agent (the counting model answers `done:<text>`, asks for input on `ask:<q>`, and
 * holds a run while its gate is closed), raw JSON-RPC over fetch, and an SSE reader.
 */

/** The 1.0 service parameter. */
export const V1 = { 'a2a-version': '1.0' } as const;
/** No version header: 0.3. */
export const V03 = {} as const;

/** A system under test: the node, its echo agent's endpoint and the model behind it. */
export interface Sut {
  base: string;
  /** `POST /a2a/echo`. */
  url: string;
  model: CountingModel;
  /** Hold every run until the returned function is called. */
  hold(): () => void;
}

/** A node with an `echo` agent (closed by closeNodes). */
export async function sut(options: Record<string, unknown> = {}): Promise<Sut> {
  const model = new CountingModel();
  const node = await a2aNode({ modelProvider: model, ...options } as never);
  node.spawnAgent({ name: 'echo', description: 'echoes what it is told' });
  return {
    base: node.http.url,
    url: `${node.http.url}/a2a/echo`,
    model,
    hold() {
      let release!: () => void;
      model.gate = new Promise<void>((r) => (release = r));
      return () => {
        model.gate = undefined;
        release();
      };
    },
  };
}

/** A 1.0 user message (ProtoJSON) of one text part. */
export function msg(text: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { messageId: `tck-${randomUUID()}`, role: 'ROLE_USER', parts: [{ text }], ...extra };
}

/** A 0.3 user message of one text part. */
export function msg03(text: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { kind: 'message', messageId: `tck-${randomUUID()}`, role: 'user', parts: [{ kind: 'text', text }], ...extra };
}

let seq = 0;

/** One JSON-RPC call over HTTP: status, headers and the parsed body. */
export async function call(url: string, method: string, params: unknown, headers: Record<string, string> = V1): Promise<{ status: number; headers: Headers; body: any; id: number }> {
  const id = ++seq;
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* left as text */
  }
  return { status: res.status, headers: res.headers, body, id };
}

/** A POST of any body (string sent as is). */
export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  try {
    return { status: res.status, headers: res.headers, body: JSON.parse(text) };
  } catch {
    return { status: res.status, headers: res.headers, body: text };
  }
}

/** One SSE event: its type (`message` unless named) and its parsed data. */
export interface SseEvent {
  event: string;
  data: any;
}

/** An open event stream, read event by event. */
export interface EventStream {
  status: number;
  contentType: string;
  id: number;
  /** The next event; undefined once the server closed the stream. */
  next(): Promise<SseEvent | undefined>;
  /** Every event until the server closes the stream. */
  rest(): Promise<SseEvent[]>;
  /** Close from the client side. */
  close(): void;
}

/** Open a streaming JSON-RPC call (or any POST answered with SSE). */
export async function openStream(url: string, method: string, params: unknown, headers: Record<string, string> = V1): Promise<EventStream> {
  const id = ++seq;
  const abort = new AbortController();
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
    body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
    signal: abort.signal,
  });
  return sseOf(res, abort, id);
}

/** The events of a fetch response that is an event stream. */
export function sseOf(res: Response, abort: AbortController, id = 0): EventStream {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  let done = false;
  const next = async (): Promise<SseEvent | undefined> => {
    for (;;) {
      const cut = buf.indexOf('\n\n');
      if (cut >= 0) {
        const block = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
        }
        if (data.length === 0) continue;
        return { event, data: JSON.parse(data.join('\n')) };
      }
      if (done) return undefined;
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await reader.read();
      } catch {
        done = true;
        continue;
      }
      if (r.done) done = true;
      else buf += decoder.decode(r.value, { stream: true });
    }
  };
  return {
    status: res.status,
    contentType: res.headers.get('content-type') ?? '',
    id,
    next,
    async rest() {
      const out: SseEvent[] = [];
      for (let e = await next(); e; e = await next()) out.push(e);
      return out;
    },
    close() {
      done = true;
      abort.abort();
    },
  };
}

/** The kind of a 1.0 StreamResponse result: task, message, statusUpdate or artifactUpdate. */
export function kindOf(result: Record<string, unknown>): string {
  return ['task', 'message', 'statusUpdate', 'artifactUpdate'].find((k) => k in result) ?? 'none';
}

/** The task state an event carries (task or status update), if any. */
export function stateOf(result: any): string | undefined {
  return result?.task?.status?.state ?? result?.statusUpdate?.status?.state;
}

export const TERMINAL = new Set(['TASK_STATE_COMPLETED', 'TASK_STATE_FAILED', 'TASK_STATE_CANCELED', 'TASK_STATE_REJECTED']);

/** Send (1.0, blocking) and return the task of the answer. */
export async function sendTask(s: Sut, text: string, extra: Record<string, unknown> = {}, configuration?: Record<string, unknown>): Promise<any> {
  const r = await call(s.url, 'SendMessage', { message: msg(text, extra), ...(configuration ? { configuration } : {}) });
  if (!r.body.result?.task) throw new Error(`no task in ${JSON.stringify(r.body).slice(0, 500)}`);
  return r.body.result.task;
}

/** A task left waiting in input-required (the agent asked a question). */
export async function waitingTask(s: Sut, extra: Record<string, unknown> = {}): Promise<any> {
  const task = await sendTask(s, 'ask:what colour?', extra);
  if (task.status.state !== 'TASK_STATE_INPUT_REQUIRED') throw new Error(`task is ${task.status.state}`);
  return task;
}

/** A task still working: its run is held (call the returned release to let it finish). */
export async function workingTask(s: Sut): Promise<{ task: any; release: () => void }> {
  const release = s.hold();
  const task = await sendTask(s, 'slow work', {}, { returnImmediately: true });
  return { task, release };
}

/** Poll GetTask until the task reaches one of the states (bounded). */
export async function until(s: Sut, id: string, states: Set<string>, tries = 1_000): Promise<any> {
  for (let i = 0; i < tries; i++) {
    const r = await call(s.url, 'GetTask', { id });
    const state = r.body.result?.status?.state;
    if (states.has(state)) return r.body.result;
    await new Promise((res) => setTimeout(res, 10));
  }
  throw new Error(`task ${id} never reached ${[...states].join('/')}`);
}
