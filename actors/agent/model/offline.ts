import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { TroupeError } from '../../../protocol/index.js';
import type { ChatMessage, FinishReason, ModelDelta, ModelResult, ToolCall, ToolSpec } from '../../../protocol/index.js';
import type { CancelSignal, CompleteOptions, ModelProvider, ModelRequest } from './provider.js';
import { collapseSpaces, estimatePromptTokens, estimateTokens, messageText, splitTokens } from './tokens.js';
import { jsonInstance } from './json-instance.js';

/** Name of the built-in model, also the model id it reports. */
export const OFFLINE_MODEL_NAME = 'troupe-offline';

const ECHO_LIMIT = 280;

export interface OfflineModelOptions {
  /** Tokens per streamed delta (default 3). */
  tokensPerDelta?: number;
  /** Pause between deltas, for demos that want visible streaming (default 0). */
  deltaDelayMs?: number;
  logger?: Logger;
}

/** What the offline model decided to answer, before streaming and limits. */
type Plan = { kind: 'text'; text: string } | { kind: 'tools'; calls: Array<{ name: string; arguments: string }> };

/**
 * The built-in deterministic model: no network, no weights. The same request always
 * yields the same deltas and result, so agents, the tool loop and streaming can be run
 * and tested without an upstream.
 *
 * - Offered tools and the last user message says `call <tool> {json}` (several such
 *   phrases make parallel calls) or names a tool: it calls that tool with the first JSON
 *   object that follows (or `{}`). `toolChoice: 'required'` with no mention calls the
 *   first tool; `toolChoice: { name }` forces one.
 * - The conversation ends with tool results: it answers with text quoting them.
 * - Otherwise it echoes the last user message: `[troupe-offline] You said: ...`; with
 *   `responseFormat` `json_schema` it answers an instance of the schema that validates
 *   against it (the echo in its first free string), with `json_object` a JSON object.
 *
 * Stop sequences cut the text; `maxTokens` truncates it with finish reason `length`.
 * Tokens are the approximate ones of `splitTokens`.
 *
 * @example
 * const model = new OfflineModel();
 * const r = await model.complete({ model: 'troupe-offline', messages: [{ role: 'user', content: 'hi' }] });
 * r.content; // '[troupe-offline] You said: hi'
 */
export class OfflineModel implements ModelProvider {
  readonly name = OFFLINE_MODEL_NAME;
  readonly offline = true;
  readonly defaultModel = OFFLINE_MODEL_NAME;
  private readonly tokensPerDelta: number;
  private readonly deltaDelayMs: number;
  private readonly logger: Logger | undefined;

  constructor(options: OfflineModelOptions = {}) {
    const per = options.tokensPerDelta ?? 3;
    const delay = options.deltaDelayMs ?? 0;
    if (!Number.isInteger(per) || per < 1 || !Number.isFinite(delay) || delay < 0) {
      throw new TroupeError('TROUPE_ERR_CONFIG_INVALID', 'offline model: tokensPerDelta must be a positive integer and deltaDelayMs >= 0');
    }
    this.tokensPerDelta = per;
    this.deltaDelayMs = delay;
    this.logger = options.logger?.child({ provider: this.name });
  }

  /** Answer deterministically; see the class description. */
  async complete(req: ModelRequest, opts: CompleteOptions = {}): Promise<ModelResult> {
    const { signal, onDelta } = opts;
    checkCancelled(signal);
    const plan = planAnswer(req);
    let budget = req.maxTokens ?? Number.POSITIVE_INFINITY;
    let finishReason: FinishReason;
    let content: string | null = null;
    const toolCalls: ToolCall[] = [];
    let completionTokens = 0;

    // Pieces come one turn (or deltaDelayMs) apart, so a cancel from onDelta lands before the
    // next; a plain call with no simulated delay has nobody to hand them to and answers at once.
    const paced = onDelta !== undefined || this.deltaDelayMs > 0;
    const stream = async (delta: ModelDelta): Promise<void> => {
      if (!paced) return;
      await this.pause(signal);
      onDelta?.(delta);
    };

    if (plan.kind === 'text') {
      const text = applyStop(plan.text, req.stop);
      const count = estimateTokens(text) || (text.length > 0 ? 1 : 0); // as many as splitTokens makes
      if (!paced && count <= budget) {
        // all of it at once: nobody takes pieces, nothing is cut
        finishReason = 'stop';
        completionTokens = count;
        content = text;
      } else {
        const tokens = splitTokens(text);
        const kept = tokens.slice(0, Math.min(tokens.length, budget));
        finishReason = kept.length < tokens.length ? 'length' : 'stop';
        completionTokens = kept.length;
        content = '';
        for (let i = 0; i < kept.length; i += this.tokensPerDelta) {
          const piece = kept.slice(i, i + this.tokensPerDelta).join('');
          content += piece;
          await stream({ type: 'content', text: piece });
        }
      }
    } else {
      finishReason = 'tool_calls';
      const salt = JSON.stringify(req.messages);
      for (const [index, call] of plan.calls.entries()) {
        if (budget <= 0) {
          finishReason = 'length';
          break;
        }
        const id = `call_${createHash('sha256').update(`${salt}\u0000${index}\u0000${call.name}`).digest('hex').slice(0, 24)}`;
        const tc: ToolCall = { id, name: call.name, arguments: '' };
        toolCalls.push(tc);
        budget -= 1;
        completionTokens += 1;
        await stream({ type: 'tool_call', index, id, name: call.name, argumentsDelta: '' });
        const tokens = splitTokens(call.arguments);
        const kept = tokens.slice(0, Math.max(0, Math.min(tokens.length, budget)));
        budget -= kept.length;
        completionTokens += kept.length;
        for (let i = 0; i < kept.length; i += this.tokensPerDelta) {
          const piece = kept.slice(i, i + this.tokensPerDelta).join('');
          tc.arguments += piece;
          await stream({ type: 'tool_call', index, argumentsDelta: piece });
        }
        if (kept.length < tokens.length) {
          finishReason = 'length';
          break;
        }
      }
    }

    const promptTokens = estimatePromptTokens(req.messages, req.tools);
    this.logger?.debug({ finishReason, toolCalls: toolCalls.length }, 'offline model answered');
    return {
      content,
      toolCalls,
      finishReason,
      usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
      model: OFFLINE_MODEL_NAME,
    };
  }

  private async pause(signal: CancelSignal | undefined): Promise<void> {
    // Yield even with no delay, so a cancel issued from onDelta lands before the next piece.
    await new Promise<void>((resolve) => {
      if (this.deltaDelayMs > 0) setTimeout(resolve, this.deltaDelayMs);
      else setImmediate(resolve);
    });
    checkCancelled(signal);
  }
}

function checkCancelled(signal: CancelSignal | undefined): void {
  if (signal?.aborted) throw new TroupeError('TROUPE_ERR_AGENT_CANCELLED', 'model call cancelled', { cause: signal.reason });
}

/**
 * Decide what to answer, e.g. `call add {"a":1}` with a tool `add` offered plans
 * `{ kind: 'tools', calls: [{ name: 'add', arguments: '{"a":1}' }] }`.
 */
function planAnswer(req: ModelRequest): Plan {
  const { messages } = req;
  const last = messages[messages.length - 1];
  if (last?.role === 'tool') return { kind: 'text', text: answerToolResults(messages) };

  let lastUser: ChatMessage | undefined = last;
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]!.role === 'user') {
      lastUser = messages[i];
      break;
    }
  }
  const said = lastUser ? messageText(lastUser) : '';
  const tools = req.tools ?? [];
  const choice = req.toolChoice ?? 'auto';
  if (tools.length > 0 && choice !== 'none') {
    const calls = pickToolCalls(said, tools, choice);
    if (calls.length > 0) return { kind: 'tools', calls };
  }

  const echo = summarize(said);
  const format = req.responseFormat;
  if (format?.type === 'json_schema' && format.json_schema.schema !== undefined) {
    // structured output: an instance of the schema, the echo in its first free string
    return { kind: 'text', text: JSON.stringify(jsonInstance(format.json_schema.schema, `You said: ${echo}`)) };
  }
  if (format?.type === 'json_object' || format?.type === 'json_schema') {
    return { kind: 'text', text: JSON.stringify({ model: OFFLINE_MODEL_NAME, reply: `You said: ${echo}` }) };
  }
  return { kind: 'text', text: echo === '' ? `[${OFFLINE_MODEL_NAME}] (empty message)` : `[${OFFLINE_MODEL_NAME}] You said: ${echo}` };
}

function answerToolResults(messages: ReadonlyArray<ChatMessage>): string {
  const results: Array<{ toolCallId: string; content: string }> = [];
  let i = messages.length - 1;
  for (; i >= 0; i--) {
    const m = messages[i]!;
    if (m.role !== 'tool') break;
    results.unshift({ toolCallId: m.toolCallId, content: m.content });
  }
  const names = new Map<string, string>();
  const asked = messages[i];
  if (asked?.role === 'assistant') for (const c of asked.toolCalls ?? []) names.set(c.id, c.name);
  const lines = results.map((r) => `${names.get(r.toolCallId) ?? 'tool'} returned: ${summarize(r.content)}`);
  return `[${OFFLINE_MODEL_NAME}] ${lines.join('\n')}`;
}

function pickToolCalls(said: string, tools: ReadonlyArray<ToolSpec>, choice: NonNullable<ModelRequest['toolChoice']>): Array<{ name: string; arguments: string }> {
  const byName = new Map(tools.map((t) => [t.name.toLowerCase(), t.name]));
  if (typeof choice === 'object') {
    const forced = byName.get(choice.name.toLowerCase());
    if (forced) return [{ name: forced, arguments: firstJsonObject(said) ?? '{}' }];
  }

  // Explicit `call <tool> {json}` phrases, possibly several (parallel tool calls).
  const explicit: Array<{ name: string; at: number }> = [];
  for (const m of said.matchAll(/\bcall\s+([a-zA-Z0-9_-]{1,64})/gi)) {
    const name = byName.get(m[1]!.toLowerCase());
    if (name) explicit.push({ name, at: m.index + m[0].length });
  }
  if (explicit.length > 0) {
    return explicit.map((c, k) => {
      const end = explicit[k + 1]?.at ?? said.length;
      return { name: c.name, arguments: firstJsonObject(said.slice(c.at, end)) ?? '{}' };
    });
  }

  // Otherwise the earliest whole-word mention of a tool (longest name on a tie).
  let best: { name: string; at: number } | undefined;
  for (const t of tools) {
    const re = new RegExp(`(?<![A-Za-z0-9_-])${escapeRegExp(t.name)}(?![A-Za-z0-9_-])`, 'i');
    const m = re.exec(said);
    if (m && (!best || m.index < best.at || (m.index === best.at && t.name.length > best.name.length))) best = { name: t.name, at: m.index };
  }
  if (best) return [{ name: best.name, arguments: firstJsonObject(said.slice(best.at)) ?? '{}' }];
  if (choice === 'required') return [{ name: tools[0]!.name, arguments: firstJsonObject(said) ?? '{}' }];
  return [];
}

/**
 * The first `{...}` in the text that parses as a JSON object, re-serialized canonically.
 * "First" is by opening brace: an outer object wins over the objects inside it, and when
 * the outer span is not JSON the ones inside it are tried, in order.
 *
 * A scan finds the balanced spans (skipping strings, so braces inside them do not count);
 * a brace that never closes makes the scan start again just after it. Rescans and the
 * parsing of nested spans share a budget proportional to the text, and parse attempts are
 * capped (a failed JSON.parse is slow), so the search is linear whatever the input: a
 * message of 200k `{` costs a few passes, not 200k of them.
 */
function firstJsonObject(text: string): string | undefined {
  const budget: Budget = { left: 4 * text.length + 1024, parses: MAX_PARSE_ATTEMPTS };
  for (let from = 0; from < text.length && budget.left > 0;) {
    const r = scanSpans(text, from, budget);
    if (r.found !== undefined || r.unclosedAt === undefined) return r.found;
    from = r.unclosedAt + 1;
  }
  return undefined;
}

/** One scan from `from`: the first span that parses, or where an unclosed brace began. */
function scanSpans(text: string, from: number, budget: Budget): { found?: string; unclosedAt?: number } {
  budget.left -= text.length - from;
  const open: number[] = [];
  // Balanced spans inside the current outermost one, tried when it closes.
  const spans: Array<[number, number]> = [];
  let inString = false;
  for (let i = from; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (open.length === 0) {
      // Outside any brace, quotes are prose rather than JSON strings.
      if (ch === OPEN) open.push(i);
    } else if (inString) {
      if (ch === BACKSLASH) i++;
      else if (ch === QUOTE) inString = false;
    } else if (ch === QUOTE) inString = true;
    else if (ch === OPEN) open.push(i);
    else if (ch === CLOSE) {
      spans.push([open.pop()!, i]);
      if (open.length > 0) continue;
      spans.sort((a, b) => a[0] - b[0]);
      for (const [k, [s, e]] of spans.entries()) {
        // The outermost span is always tried (outermost spans never overlap, so that stays
        // linear); the ones inside it only while the budget lasts.
        if (k > 0 && (budget.left -= e - s + 1) < 0) break;
        if (--budget.parses < 0) return {};
        const found = parseObject(text.slice(s, e + 1));
        if (found !== undefined) return { found };
      }
      spans.length = 0;
    }
  }
  return open.length > 0 ? { unclosedAt: open[0]! } : {};
}

/** Characters left for rescans and nested spans, and JSON.parse calls left. */
interface Budget {
  left: number;
  parses: number;
}

/** No sensible message holds this many brace spans before its arguments. */
const MAX_PARSE_ATTEMPTS = 1_000;
const OPEN = 0x7b;
const CLOSE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function parseObject(candidate: string): string | undefined {
  try {
    const v: unknown = JSON.parse(candidate);
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return JSON.stringify(v);
  } catch {
    // not JSON (or too deep to re-serialize)
  }
  return undefined;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
}

function summarize(text: string): string {
  const flat = collapseSpaces(text);
  return flat.length <= ECHO_LIMIT ? flat : `${flat.slice(0, ECHO_LIMIT - 1)}…`;
}

function applyStop(text: string, stop: string | string[] | undefined): string {
  if (stop === undefined) return text;
  const seqs = (typeof stop === 'string' ? [stop] : stop ?? []).filter((s) => s.length > 0);
  let cut = -1;
  for (const s of seqs) {
    const at = text.indexOf(s);
    if (at !== -1 && (cut === -1 || at < cut)) cut = at;
  }
  return cut === -1 ? text : text.slice(0, cut);
}
