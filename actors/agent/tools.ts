import type { Logger } from 'pino';
import { z, type ZodType } from 'zod';
import { TroupeError, describeIssues, type Clock } from '../../protocol/index.js';
import { TOOL_NAME_RE, type A2ACall, type ToolCall, type ToolSpec } from '../../protocol/index.js';

/** What a tool's `execute` gets besides its arguments. */
export interface ToolContext {
  /** Name of the agent running the tool. */
  agent: string;
  runId: string;
  conversationId?: string;
  correlationId?: string;
  /** The agents the request passed through, this agent last (agent-to-agent delegation). */
  callChain?: readonly string[];
  /** The run's W3C traceparent, when its caller sent one. */
  traceparent?: string;
  /** Add an A2A call (a delegation) to the run's trace. */
  recordCall?(call: A2ACall): void;
  /** Aborted when the run is cancelled or times out: long tools should honour it. */
  signal: AbortSignal;
  /** The node's clock (injected: tests drive it); the tool timeout runs on it. */
  clock: Clock;
  log: Logger;
  /** Message other actors (on this node or, with a cluster, another one). */
  tell(target: string, message: unknown): void;
  ask<R = unknown>(target: string, message: unknown, options?: { timeoutMs?: number }): Promise<R>;
}

/**
 * A code tool: a function the model may call, with a zod schema for its arguments. The
 * schema is sent to the model as JSON schema and checks what the model produced; a bad
 * argument or a throw goes back to the model as the tool result, never a crash.
 *
 * @example
 * const add: AgentTool<{ a: number; b: number }> = {
 *   name: 'add',
 *   description: 'Add two numbers',
 *   parameters: z.object({ a: z.number(), b: z.number() }),
 *   execute: ({ a, b }) => a + b,
 * };
 */
export interface AgentTool<A = any> {
  name: string;
  description?: string;
  /** The arguments' zod schema; or give `inputSchema` instead (one of the two). */
  parameters?: ZodType<A>;
  /**
   * The arguments as a JSON Schema object, offered to the model as it is (MCP tools): the
   * arguments are checked to be a JSON object and the tool itself validates the rest.
   */
  inputSchema?: Record<string, unknown>;
  execute(args: A, ctx: ToolContext): unknown;
  /** Time limit for one call (default 30 s). */
  timeoutMs?: number;
}

const DEFAULT_TOOL_TIMEOUT_MS = 30_000;
/** Tool results longer than this are cut: a runaway tool must not blow up the context. */
const MAX_TOOL_RESULT_CHARS = 64 * 1024;

/** Check a tool object once, when an agent is spawned. */
export function validateTool(t: unknown): AgentTool {
  const o = t as Partial<AgentTool> | undefined;
  const name = typeof o?.name === 'string' ? o.name : '(unnamed)';
  if (typeof o?.name !== 'string' || !TOOL_NAME_RE.test(o.name)) {
    throw new TroupeError('TROUPE_ERR_AGENT_INVALID_SPEC', `tool name "${name}" must match ${TOOL_NAME_RE}`);
  }
  const json = o.inputSchema;
  const hasJson = typeof json === 'object' && json !== null && !Array.isArray(json);
  if (o.parameters === undefined && hasJson) {
    if (json['type'] !== 'object') throw new TroupeError('TROUPE_ERR_AGENT_INVALID_SPEC', `tool ${name}: inputSchema must be a JSON Schema of type object`);
  } else if (typeof (o.parameters as { safeParse?: unknown } | undefined)?.safeParse !== 'function') {
    throw new TroupeError('TROUPE_ERR_AGENT_INVALID_SPEC', `tool ${name}: parameters must be a zod schema (or give a JSON Schema as inputSchema)`);
  }
  if (typeof o.execute !== 'function') {
    throw new TroupeError('TROUPE_ERR_AGENT_INVALID_SPEC', `tool ${name}: execute must be a function`);
  }
  return o as AgentTool;
}

/** The JSON-schema description the model sees. */
export function toolSpecOf(tool: AgentTool): ToolSpec {
  let parameters: Record<string, unknown>;
  if (!tool.parameters) return { name: tool.name, ...(tool.description ? { description: tool.description } : {}), parameters: tool.inputSchema ?? { type: 'object' } };
  try {
    const { $schema: _drop, ...rest } = z.toJSONSchema(tool.parameters, { unrepresentable: 'any' }) as Record<string, unknown>;
    parameters = rest;
  } catch (cause) {
    throw new TroupeError('TROUPE_ERR_AGENT_INVALID_SPEC', `tool ${tool.name}: parameters cannot be expressed as JSON schema`, { cause });
  }
  return { name: tool.name, ...(tool.description ? { description: tool.description } : {}), parameters };
}

/** The outcome of one tool call: the text handed back to the model. */
export interface ToolOutcome {
  content: string;
  ok: boolean;
}

/** The arguments of a JSON-Schema tool: an object (the tool validates its fields). */
const jsonArguments = z.record(z.string(), z.unknown());

function failure(code: string, message: string): ToolOutcome {
  return { content: JSON.stringify({ error: { code, message } }), ok: false };
}

/**
 * Run one tool call. Never throws for the tool's own faults (bad JSON, bad arguments, a
 * throw, a timeout): those become a TROUPE_ERR_TOOL_FAILED result the model can read. Only
 * the run's cancellation propagates.
 */
export async function runTool(tool: AgentTool, call: ToolCall, ctx: ToolContext): Promise<ToolOutcome> {
  let raw: unknown;
  try {
    raw = call.arguments.trim() === '' ? {} : JSON.parse(call.arguments);
  } catch {
    return failure('TROUPE_ERR_TOOL_FAILED', `arguments of ${tool.name} are not valid JSON: ${call.arguments.slice(0, 200)}`);
  }
  const parsed = tool.parameters ? tool.parameters.safeParse(raw) : jsonArguments.safeParse(raw);
  if (!parsed.success) {
    return failure('TROUPE_ERR_TOOL_FAILED', `invalid arguments for ${tool.name}: ${describeIssues(parsed.error)}`);
  }
  const limit = tool.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS;
  let timer: unknown;
  let onAbort: (() => void) | undefined;
  try {
    const value = await Promise.race([
      Promise.resolve().then(() => tool.execute(parsed.data, ctx)),
      new Promise<never>((_, reject) => {
        timer = ctx.clock.setTimeout(() => reject(new TroupeError('TROUPE_ERR_TOOL_FAILED', `tool ${tool.name} took longer than ${limit}ms`)), limit);
        onAbort = () => reject(new TroupeError('TROUPE_ERR_AGENT_CANCELLED', 'run cancelled during a tool call', { cause: ctx.signal.reason }));
        if (ctx.signal.aborted) onAbort();
        else ctx.signal.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
    let content = typeof value === 'string' ? value : JSON.stringify(value ?? null) ?? 'null';
    if (content.length > MAX_TOOL_RESULT_CHARS) content = `${content.slice(0, MAX_TOOL_RESULT_CHARS)}…[truncated]`;
    return { content, ok: true };
  } catch (e) {
    if (ctx.signal.aborted) throw e instanceof TroupeError && e.code === 'TROUPE_ERR_AGENT_CANCELLED' ? e : new TroupeError('TROUPE_ERR_AGENT_CANCELLED', 'run cancelled during a tool call', { cause: e });
    const message = e instanceof Error ? e.message : String(e);
    ctx.log.warn({ tool: tool.name, err: e }, 'tool failed; the error goes back to the model');
    return failure('TROUPE_ERR_TOOL_FAILED', `${tool.name} failed: ${message}`);
  } finally {
    if (timer !== undefined) ctx.clock.clearTimeout(timer);
    if (onAbort) ctx.signal.removeEventListener('abort', onAbort);
  }
}

// ---------------------------------------------------------------------------------------
// Built-in tools: usable by name from HTTP-created agents and the config file
// ---------------------------------------------------------------------------------------

/** `clock`: the current time, so a model can answer "what time is it". */
export const clockTool: AgentTool<{ timeZone?: string }> = {
  name: 'clock',
  description: 'The current date and time (ISO 8601, UTC, and in an optional IANA time zone).',
  parameters: z.object({ timeZone: z.string().max(64).optional().describe('IANA time zone, e.g. Europe/Paris') }),
  execute: ({ timeZone }, ctx) => {
    const now = new Date(ctx.clock.now());
    let local: string | undefined;
    if (timeZone) {
      try {
        local = now.toLocaleString('en-GB', { timeZone });
      } catch {
        throw new Error(`unknown time zone ${timeZone}`);
      }
    }
    return { utc: now.toISOString(), ...(local ? { timeZone, local } : {}) };
  },
};

/** `calculator`: arithmetic on numbers with + - * / % ^ and parentheses (no eval). */
export const calculatorTool: AgentTool<{ expression: string }> = {
  name: 'calculator',
  description: 'Evaluate an arithmetic expression: numbers, + - * / % ^ and parentheses.',
  parameters: z.object({ expression: z.string().min(1).max(500).describe('e.g. (2 + 3) * 4') }),
  execute: ({ expression }) => ({ expression, value: evaluateArithmetic(expression) }),
};

/** The tools every node knows by name. */
export const builtinTools: ReadonlyArray<AgentTool> = [clockTool, calculatorTool];

/**
 * A small recursive-descent evaluator: numbers, unary minus, + - * / % ^ (right
 * associative) and parentheses. Throws on anything else.
 *
 * @example evaluateArithmetic('2 * (3 + 4) ^ 2') // 98
 */
export function evaluateArithmetic(src: string): number {
  let i = 0;
  const peek = (): string => {
    while (src[i] === ' ' || src[i] === '\t') i++;
    return src[i] ?? '';
  };
  const expr = (): number => {
    let v = term();
    for (let c = peek(); c === '+' || c === '-'; c = peek()) {
      i++;
      v = c === '+' ? v + term() : v - term();
    }
    return v;
  };
  const term = (): number => {
    let v = unary();
    for (let c = peek(); c === '*' || c === '/' || c === '%'; c = peek()) {
      i++;
      const r = unary();
      v = c === '*' ? v * r : c === '/' ? v / r : v % r;
    }
    return v;
  };
  // Unary minus binds looser than ^, as in mathematics: -2 ^ 2 = -4.
  const unary = (): number => {
    const c = peek();
    if (c === '-' || c === '+') {
      i++;
      return c === '-' ? -unary() : unary();
    }
    return power();
  };
  const power = (): number => {
    const base = atom();
    if (peek() === '^') {
      i++;
      return base ** unary();
    }
    return base;
  };
  const atom = (): number => {
    const c = peek();
    if (c === '(') {
      i++;
      const v = expr();
      if (peek() !== ')') throw new Error(`expected ) at ${i}`);
      i++;
      return v;
    }
    const m = /^\d+(\.\d+)?([eE][-+]?\d+)?|^\.\d+/.exec(src.slice(i));
    if (!m) throw new Error(`unexpected ${c === '' ? 'end of expression' : `"${c}"`} at ${i}`);
    i += m[0].length;
    return Number(m[0]);
  };
  const v = expr();
  if (peek() !== '') throw new Error(`unexpected "${peek()}" at ${i}`);
  if (!Number.isFinite(v)) throw new Error('result is not a finite number');
  return v;
}
