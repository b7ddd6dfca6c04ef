import { ADDRESS_RE, TroupeError, describeIssues, isPlainTextMessage, type ChatMessage, type ToolChoice, type ToolSpec } from '../../protocol/index.js';
import { runMessageSchema, type RunA2A, type RunMessage, type RunMessageInput, type RunParams } from './messages.js';

/**
 * `agent.run` as a requester of this process sends it, once checked against
 * runMessageSchema by {@link checkRunMessage}: an agent's mailbox takes an instance as it is
 * (Behaviour.instances) instead of parsing it again. Sent to another node it is encoded as
 * the plain object it holds, and parsed there like any wire message.
 *
 * @example
 * host.ask(ref, checkRunMessage({ type: 'agent.run', runId, replyTo, input, stream: false }, ref.address));
 */
export class AgentRunMessage implements RunMessage {
  readonly type = 'agent.run' as const;
  // optional fields exist only when set (no own property holding undefined)
  declare readonly conversationId?: string;
  declare readonly clientTools?: ToolSpec[];
  declare readonly toolChoice?: ToolChoice;
  declare readonly params?: RunParams;
  declare readonly queueDeadlineMs?: number;
  declare readonly caller?: string;
  declare readonly a2a?: RunA2A;

  constructor(readonly runId: string, readonly replyTo: string, readonly input: ChatMessage[], readonly stream: boolean) {}
}

const MAX_ID = 200;
const MAX_INPUT = 10_000;
const MAX_QUEUE_DEADLINE_MS = 3_600_000;

const isId = (v: unknown): v is string => typeof v === 'string' && v.length >= 1 && v.length <= MAX_ID;

/** A plain text message (isPlainTextMessage), copied as the schema's output is (or undefined). */
function textMessage(m: unknown): ChatMessage | undefined {
  if (!isPlainTextMessage(m)) return undefined;
  const { role, content, name } = m;
  return (name === undefined ? { role, content } : { role, content, name }) as ChatMessage;
}

/**
 * The common run (text messages, no tools, params or A2A context) checked exactly as
 * runMessageSchema checks it, without its schema walk; undefined for anything else, valid
 * or not. test/agent/run-message.property.test.ts holds the two to the same answers.
 */
export function fastRunMessage(m: RunMessageInput): AgentRunMessage | undefined {
  if (m.clientTools !== undefined || m.toolChoice !== undefined || m.params !== undefined || m.a2a !== undefined) return undefined;
  if (m.type !== 'agent.run' || !isId(m.runId)) return undefined;
  const replyTo = m.replyTo;
  if (typeof replyTo !== 'string' || replyTo.length > 1024 || !ADDRESS_RE.test(replyTo)) return undefined;
  const stream = m.stream === undefined ? false : m.stream;
  if (typeof stream !== 'boolean') return undefined;
  const { conversationId, queueDeadlineMs, caller } = m;
  if (conversationId !== undefined && !isId(conversationId)) return undefined;
  if (caller !== undefined && (typeof caller !== 'string' || caller.length > MAX_ID)) return undefined;
  if (queueDeadlineMs !== undefined && !(Number.isSafeInteger(queueDeadlineMs) && queueDeadlineMs >= 0 && queueDeadlineMs <= MAX_QUEUE_DEADLINE_MS)) return undefined;
  const raw = m.input;
  if (!Array.isArray(raw) || raw.length > MAX_INPUT) return undefined;
  const input: ChatMessage[] = new Array<ChatMessage>(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const c = textMessage(raw[i]);
    if (c === undefined) return undefined;
    input[i] = c;
  }
  const out = new AgentRunMessage(m.runId, replyTo, input, stream) as { -readonly [K in keyof AgentRunMessage]: AgentRunMessage[K] };
  if (conversationId !== undefined) out.conversationId = conversationId;
  if (queueDeadlineMs !== undefined) out.queueDeadlineMs = queueDeadlineMs;
  if (caller !== undefined) out.caller = caller;
  return out as AgentRunMessage;
}

/**
 * Check a run message a requester of this process built (against runMessageSchema: the
 * common run without its schema walk, see {@link fastRunMessage}) and make it the instance
 * an agent's mailbox takes as it is. An invalid one is TROUPE_ERR_ACTOR_INVALID_MESSAGE, as
 * the agent's mailbox would have refused it.
 *
 * @example
 * const msg = checkRunMessage({ type: 'agent.run', runId, replyTo, input, stream: false }, ref.address);
 */
export function checkRunMessage(m: RunMessageInput, to: string): AgentRunMessage {
  const fast = fastRunMessage(m);
  if (fast !== undefined) return fast;
  const r = runMessageSchema.safeParse(m);
  if (!r.success) throw new TroupeError('TROUPE_ERR_ACTOR_INVALID_MESSAGE', `invalid message for ${to}: ${describeIssues(r.error)}`);
  const d = r.data;
  return Object.assign(new AgentRunMessage(d.runId, d.replyTo, d.input, d.stream), withoutUndefined(d));
}

/** The parsed message's set fields (an absent optional field stays absent on the instance). */
function withoutUndefined(d: RunMessage): Partial<RunMessage> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(d)) if (v !== undefined && k !== 'type') out[k] = v;
  return out as Partial<RunMessage>;
}
