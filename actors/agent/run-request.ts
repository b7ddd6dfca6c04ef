import type { ChatMessage, ModelDelta, ToolChoice, ToolSpec } from '../../protocol/index.js';
import type { RunA2A, RunParams } from './messages.js';

/** What a caller asks of an agent. */
export interface RunRequest {
  /** Continue (and extend) this stored conversation; without it the input is the whole context. */
  conversationId?: string;
  input: ChatMessage[];
  /** Deliver deltas to `onDelta` while the model answers. */
  stream?: boolean;
  /** The caller's own tools (OpenAI `tools`): the run ends when the model calls one. */
  clientTools?: ToolSpec[];
  toolChoice?: ToolChoice;
  params?: RunParams;
  /** Longest wait for one of the agent's slots before the run is refused (TROUPE_ERR_AGENT_QUEUE_TIMEOUT); default the agent's `limits.queueDeadlineMs`. */
  queueDeadlineMs?: number;
  /** Who asks (an API key's id): the agent's queue is fair over callers. */
  caller?: string;
  /** Agent-to-agent context: the call chain so far (the caller last) and the W3C traceparent. */
  a2a?: RunA2A;
}

/** How a caller follows a run (through the gateway actor). */
export interface RunOptions {
  onDelta?: (delta: ModelDelta) => void;
  /** Aborting cancels the run, and the agent aborts its upstream request. */
  signal?: AbortSignal;
  /** Give up (and cancel) after this long; default 10 minutes. */
  timeoutMs?: number;
  correlationId?: string;
  runId?: string;
}
