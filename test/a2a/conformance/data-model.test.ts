import { afterEach, describe, expect, it } from 'vitest';
import { closeNodes } from '../harness.js';
import { V1, call, msg, openStream, post, sut, waitingTask } from './wire.js';

afterEach(closeNodes);

const STATES = ['TASK_STATE_SUBMITTED', 'TASK_STATE_WORKING', 'TASK_STATE_COMPLETED', 'TASK_STATE_FAILED', 'TASK_STATE_CANCELED', 'TASK_STATE_INPUT_REQUIRED', 'TASK_STATE_REJECTED', 'TASK_STATE_AUTH_REQUIRED'];
const ROLES = ['ROLE_USER', 'ROLE_AGENT'];
const PART_KINDS = ['text', 'raw', 'url', 'data'];
const ISO_Z = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** Every value of a key anywhere in a JSON value. */
function valuesOf(v: unknown, key: string, out: unknown[] = []): unknown[] {
  if (Array.isArray(v)) for (const x of v) valuesOf(x, key, out);
  else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (k === key) out.push(x);
      valuesOf(x, key, out);
    }
  }
  return out;
}

/** Every key anywhere in a JSON value (inside `metadata`, the application's own keys, only when asked). */
function keysOf(v: unknown, withMetadata = true, out = new Set<string>()): Set<string> {
  if (Array.isArray(v)) for (const x of v) keysOf(x, withMetadata, out);
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) {
    out.add(k);
    if (k !== 'metadata' || withMetadata) keysOf(x, withMetadata, out);
  }
  return out;
}

/** What the wire carries for one exchange: a blocking answer, a stream and a REST answer. */
async function samples(): Promise<unknown[]> {
  const s = await sut();
  const sent = await call(s.url, 'SendMessage', { message: msg('Hello from TCK data model test') });
  const waiting = await waitingTask(s);
  const got = await call(s.url, 'GetTask', { id: waiting.id });
  const st = await openStream(s.url, 'SendStreamingMessage', { message: msg('streamed') });
  const events = await st.rest();
  const rest = await post(`${s.url}/v1/message:send`, { message: msg('rest') }, V1);
  return [sent.body.result, got.body.result, ...events.map((e) => e.data.result), rest.body];
}

/** A2A TCK data model requirements (spec 4 and 5.5): the shapes and the ProtoJSON serialization. */
describe('TCK data model: Task, Message, Part, Artifact, status and their JSON', () => {
  it('DM-TASK-001 a Task has its required fields (id, contextId, status)', async () => {
    const [sent, got] = await samples() as any[];
    for (const task of [sent.task, got]) {
      expect(task).toMatchObject({ id: expect.any(String), contextId: expect.any(String), status: { state: expect.any(String) } });
    }
  });

  it('DM-TASK-002 task states are TaskState enum names', async () => {
    const all = await samples();
    const states = valuesOf(all, 'state');
    expect(states.length).toBeGreaterThan(3);
    for (const st of states) expect(STATES).toContain(st);
  });

  it('DM-MSG-001 a Message has role, parts and messageId', async () => {
    const all = await samples();
    const messages = [...valuesOf(all, 'history').flat(), ...valuesOf(all, 'message')] as any[];
    expect(messages.length).toBeGreaterThan(2);
    for (const m of messages) {
      expect(typeof m.messageId).toBe('string');
      expect(m.messageId.length).toBeGreaterThan(0);
      expect(Array.isArray(m.parts) && m.parts.length > 0).toBe(true);
      expect(ROLES).toContain(m.role);
    }
  });

  it('DM-MSG-002 roles are the Role enum names (ROLE_USER, ROLE_AGENT)', async () => {
    const roles = valuesOf(await samples(), 'role');
    expect(new Set(roles)).toEqual(new Set(ROLES));
  });

  it('DM-PART-001 a Part holds exactly one of text, raw, url, data', async () => {
    const parts = valuesOf(await samples(), 'parts').flat() as any[];
    expect(parts.length).toBeGreaterThan(3);
    for (const p of parts) expect(PART_KINDS.filter((k) => k in p)).toHaveLength(1);
  });

  it('DM-ART-001 an Artifact has an artifactId and parts', async () => {
    const all = await samples();
    const artifacts = [...valuesOf(all, 'artifacts').flat(), ...valuesOf(all, 'artifact')] as any[];
    expect(artifacts.length).toBeGreaterThan(0);
    for (const a of artifacts) {
      expect(typeof a.artifactId).toBe('string');
      expect(a.parts.length).toBeGreaterThan(0);
    }
  });

  it('DM-STATUS-001 a TaskStatus has its state, and a timestamp', async () => {
    const statuses = valuesOf(await samples(), 'status') as any[];
    for (const st of statuses) {
      expect(STATES).toContain(st.state);
      expect(st.timestamp).toMatch(ISO_Z);
    }
  });

  it('DM-SERIAL-001 JSON field names are camelCase', async () => {
    const all = await samples();
    // the protocol's own fields everywhere (metadata holds the application's keys)
    expect([...keysOf(all, false)].filter((k) => /_/.test(k))).toEqual([]);
    // and a blocking answer has none at all, its metadata included
    expect([...keysOf(all[0], true)].filter((k) => /_/.test(k))).toEqual([]);
  });

  it('DM-SERIAL-002 enums are serialized as their names (strings), not numbers', async () => {
    const all = await samples();
    for (const key of ['state', 'role']) for (const v of valuesOf(all, key)) expect(typeof v).toBe('string');
  });

  it('DM-SERIAL-003 timestamps are ISO 8601 in UTC with Z', async () => {
    const stamps = valuesOf(await samples(), 'timestamp');
    expect(stamps.length).toBeGreaterThan(0);
    for (const t of stamps) expect(t).toMatch(ISO_Z);
  });

  it('DM-SERIAL-004 required fields are present even when empty or default', async () => {
    const [sent] = await samples() as any[];
    expect(sent.task).toHaveProperty('id');
    expect(sent.task).toHaveProperty('contextId');
    expect(sent.task).toHaveProperty('status.state');
    for (const a of sent.task.artifacts) expect(a).toHaveProperty('artifactId');
  });

  it('DM-SERIAL-005 (SHOULD) unrecognized fields are ignored, over JSON-RPC and REST', async () => {
    const s = await sut();
    const extra = { ...msg('unrecognized field test'), tckUnknownField: 'should-be-ignored' };
    const r = await post(s.url, { jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: extra, tckExtraParam: 42 } }, V1);
    expect(r.body.result.task.status.state).toBe('TASK_STATE_COMPLETED');
    const rest = await post(`${s.url}/v1/message:send`, { message: { ...extra, messageId: 'tck-dm-rest' }, tckExtraParam: 42 }, V1);
    expect(rest.status).toBe(200);
  });
});
