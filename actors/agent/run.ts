import { TroupeError, type Clock } from '../../protocol/index.js';
import type { ChatMessage, ModelDelta, ModelResult, ToolCall, ToolChoice, ToolSpec, Usage } from '../../protocol/index.js';
import type { RunParams, TraceHop } from './messages.js';
import type { CancelSignal, CompleteOptions, ModelProvider, ModelRequest, RunAbort } from './model/index.js';
import { runTool, type AgentTool, type ToolContext } from './tools.js';

/** Everything one run needs; built by the agent actor from its spec and the run message. */
export interface RunPlan {
  provider: ModelProvider;
  model: string;
  /** Full context: instructions, history, new input (the run appends its turns to this array). */
  messages: ChatMessage[];
  /** The agent's code tools, run here. */
  tools: ReadonlyMap<string, AgentTool>;
  toolSpecs: ReadonlyArray<ToolSpec>;
  /** The caller's tools: a call to one ends the run and goes back to the caller. */
  clientTools: ReadonlyArray<ToolSpec>;
  toolChoice?: ToolChoice;
  params: RunParams;
  maxTurns: number;
  /** The agent's per-call token limit (a request may lower it). */
  maxTokens?: number;
  signal: RunAbort;
  /** Deltas the caller may see: text, and tool calls to the caller's own tools (renumbered). */
  onDelta?: (d: ModelDelta) => void;
  /** Made on the first call to an agent tool (most runs make none). */
  toolContext: (signal: AbortSignal) => ToolContext;
  clock: Clock;
}

/** The run's product before it becomes a RunResult. */
export interface RunProduct {
  /** Messages the run adds to the conversation (assistant and tool messages). */
  produced: ChatMessage[];
  content: string | null;
  toolCalls: ToolCall[];
  finishReason: ModelResult['finishReason'];
  usage: Usage;
  model: string;
  turns: number;
  hops: TraceHop[];
}

const TURN_SEPARATOR = '\n\n';
const NO_NAMES: ReadonlySet<string> = new Set();

type ToolCallDelta = Extract<ModelDelta, { type: 'tool_call' }>;

/**
 * The tool loop: call the model; while it asks for the agent's own tools, run them (in
 * parallel) and call it again with their results; stop at a text answer, at a call to one
 * of the caller's tools, or at `maxTurns` (TROUPE_ERR_AGENT_MAX_TURNS). Tool faults go back
 * to the model as results; cancellation, timeouts and model failures reject with their
 * coded errors.
 */
export async function executeRun(plan: RunPlan): Promise<RunProduct> {
  const { clock, signal } = plan;
  const clientNames = plan.clientTools.length === 0 ? NO_NAMES : new Set(plan.clientTools.map((t) => t.name));
  // The caller's tools shadow the agent's tools of the same name, and come first.
  const offered = clientNames.size === 0 ? plan.toolSpecs : [...plan.clientTools, ...plan.toolSpecs.filter((t) => !clientNames.has(t.name))];
  // The caller's "required" with its own tools asks for a call it can run: it holds on every
  // call of the loop (bounded by maxTurns) until the model calls one of the caller's tools.
  const requireClientCall = plan.toolChoice === 'required' && clientNames.size > 0;
  const isServerTool = (name: string): boolean => !clientNames.has(name) && plan.tools.has(name);
  // One filter for the whole run: the caller's tool-call indices never restart.
  const filter = plan.onDelta ? new DeltaFilter(clientNames, plan.onDelta) : undefined;
  const convo = plan.messages; // the plan's own array: the loop appends to it
  const produced: ChatMessage[] = [];
  const hops: TraceHop[] = [];
  const usage: Usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
  let content: string | null = null;
  let model = plan.model;
  const maxTokens = minDefined(plan.maxTokens, plan.params.maxTokens);
  const { temperature, stop, seed, responseFormat } = plan.params;
  const opts: CompleteOptions = { signal };
  // the provider's output was checked where it entered (see admitProvider)
  if (filter) opts.onDelta = (d) => filter.push(d);
  let toolCtx: ToolContext | undefined;

  for (let turn = 1; turn <= plan.maxTurns; turn++) {
    // Later calls of the tool loop wait a turn first: a model and tools that never yield
    // would otherwise keep the event loop (and the run's timeout and cancels) waiting.
    if (turn > 1) await new Promise<void>((resolve) => setImmediate(resolve));
    if (signal.aborted) throw cancelled(signal);
    filter?.nextCall(content !== null && content.length > 0);
    const startedAt = clock.now();
    let result: ModelResult;
    try {
      const req: ModelRequest = { model: plan.model, messages: convo };
      if (offered.length > 0) {
        req.tools = offered;
        // A forced choice applies to the first call only, or the loop could never end (the
        // caller's "required" with its own tools excepted: see requireClientCall).
        if (plan.toolChoice !== undefined && (turn === 1 || requireClientCall)) req.toolChoice = plan.toolChoice;
      }
      if (temperature !== undefined) req.temperature = temperature;
      if (maxTokens !== undefined) req.maxTokens = maxTokens;
      if (stop !== undefined) req.stop = stop;
      if (seed !== undefined) req.seed = seed;
      if (responseFormat !== undefined) req.responseFormat = responseFormat;
      result = await plan.provider.complete(req, opts);
    } catch (e) {
      hops.push({ kind: 'model', name: plan.model, startedAt, durationMs: clock.now() - startedAt, ok: false, error: (e as { code?: string }).code ?? String(e) });
      throw signal.aborted ? cancelled(signal, e) : e;
    }
    hops.push({ kind: 'model', name: result.model, startedAt, durationMs: clock.now() - startedAt, ok: true, finishReason: result.finishReason });
    model = result.model;
    usage.prompt_tokens += result.usage.prompt_tokens;
    usage.completion_tokens += result.usage.completion_tokens;
    usage.total_tokens += result.usage.total_tokens;
    if (result.content) content = content ? `${content}${TURN_SEPARATOR}${result.content}` : result.content;
    else if (content === null && result.content !== null) content = result.content;

    const calls = result.finishReason === 'tool_calls' ? result.toolCalls : [];
    const clientCalls = calls.length === 0 ? calls : calls.filter((c) => !isServerTool(c.name));
    if (calls.length === 0 || clientCalls.some((c) => clientNames.has(c.name))) {
      // A text answer, or calls the caller must run: the run ends here.
      const returned = calls.length === 0 ? [] : clientCalls.filter((c) => clientNames.has(c.name));
      produced.push(assistant(result.content, returned, result.refusal));
      return {
        produced, content, toolCalls: returned, finishReason: returned.length > 0 ? 'tool_calls' : result.finishReason === 'tool_calls' ? 'stop' : result.finishReason,
        usage, model, turns: turn, hops,
      };
    }

    produced.push(assistant(result.content, calls, result.refusal));
    convo.push(produced[produced.length - 1]!);
    // tools get a real AbortSignal (they may hand it to fetch): made here, on the first tool call
    const ctx: ToolContext = (toolCtx ??= plan.toolContext(signal.signal));
    const outcomes = await Promise.all(calls.map(async (call) => {
      const tool = plan.tools.get(call.name);
      const t0 = clock.now();
      const out = tool
        ? await runTool(tool, call, ctx)
        : { content: JSON.stringify({ error: { code: 'TROUPE_ERR_TOOL_FAILED', message: `no tool named ${call.name}` } }), ok: false };
      hops.push({ kind: 'tool', name: call.name, startedAt: t0, durationMs: clock.now() - t0, ok: out.ok });
      return { call, out };
    }));
    for (const { call, out } of outcomes) {
      const msg: ChatMessage = { role: 'tool', content: out.content, toolCallId: call.id };
      produced.push(msg);
      convo.push(msg);
    }
  }
  throw new TroupeError('TROUPE_ERR_AGENT_MAX_TURNS', `the tool loop reached maxTurns (${plan.maxTurns}) without a final answer`, { details: { maxTurns: plan.maxTurns } });
}

function assistant(content: string | null, calls: ToolCall[], refusal: string | undefined): ChatMessage {
  // fields set one by one, not spread from conditional objects: one object, every run
  const m: Extract<ChatMessage, { role: 'assistant' }> = { role: 'assistant', content };
  if (refusal) m.refusal = refusal;
  if (calls.length > 0) m.toolCalls = calls;
  return m;
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

/** Why a run's signal fired: the agent aborts with one of these as the reason. */
export const TIMEOUT_REASON = 'troupe:run-timeout';
/** A run cancelled by the kill switch. */
export const KILLSWITCH_REASON = 'troupe:killswitch';

/** The coded error for an aborted run: a timeout or a cancellation. */
export function cancelled(signal: CancelSignal, cause?: unknown): TroupeError {
  if (signal.reason === TIMEOUT_REASON) {
    return new TroupeError('TROUPE_ERR_AGENT_TIMEOUT', 'the run exceeded its time limit', { ...(cause === undefined ? {} : { cause }) });
  }
  if (signal.reason === KILLSWITCH_REASON) return new TroupeError('TROUPE_ERR_KILLSWITCH_ENGAGED', 'the kill switch cancelled the run');
  if (cause instanceof TroupeError && cause.code === 'TROUPE_ERR_AGENT_CANCELLED') return cause;
  return new TroupeError('TROUPE_ERR_AGENT_CANCELLED', typeof signal.reason === 'string' ? `run cancelled: ${signal.reason}` : 'run cancelled', { ...(cause === undefined ? {} : { cause }) });
}

/**
 * Decides which of a run's deltas the caller sees: text always (with a separator between
 * the texts of two model calls), tool-call deltas only for calls to the caller's own tools
 * (a call to the agent's tools, or to a name nobody offered, stays inside the run). Those
 * are renumbered from 0 in order of appearance across the whole run, so a client that
 * assembles calls by index never merges two. A call's name arrives in its first delta;
 * deltas of an index whose name is still unknown wait until it is.
 */
class DeltaFilter {
  /** Per model call: the model's index -> the caller's index, 'hidden', or deltas waiting for a name. */
  private indexes = new Map<number, number | 'hidden' | ToolCallDelta[]>();
  private next = 0;
  private separated = true;

  constructor(
    private readonly clientNames: ReadonlySet<string>,
    private readonly emit: (d: ModelDelta) => void,
  ) {}

  /** A new model call starts; its text needs a separator when earlier calls produced text. */
  nextCall(needsSeparator: boolean): void {
    this.indexes = new Map();
    this.separated = !needsSeparator;
  }

  push(d: ModelDelta): void {
    if (d.type === 'content') {
      if (!this.separated) {
        this.separated = true;
        this.emit({ type: 'content', text: TURN_SEPARATOR });
      }
      this.emit(d);
      return;
    }
    const seen = this.indexes.get(d.index);
    if (seen === 'hidden') return;
    if (typeof seen === 'number') {
      this.emit({ ...d, index: seen });
      return;
    }
    const waiting = seen ?? [];
    if (d.name === undefined) {
      waiting.push(d);
      this.indexes.set(d.index, waiting);
      return;
    }
    if (!this.clientNames.has(d.name)) {
      this.indexes.set(d.index, 'hidden');
      return;
    }
    const mine = this.next++;
    this.indexes.set(d.index, mine);
    for (const w of waiting) this.emit({ ...w, index: mine });
    this.emit({ ...d, index: mine });
  }
}
