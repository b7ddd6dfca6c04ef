import type { SerializedError } from '../../protocol/index.js';
import type { ChatMessage } from '../../protocol/index.js';
import type { RunResult } from './messages.js';

/** What a finished run hands back to its agent (and the agent journals). */
export interface RunOutcome {
  result: RunResult;
  /** The messages this run adds to its conversation: input, assistant and tool messages. */
  messages: ChatMessage[];
}

/** How a run ended, as its agent records it. */
export type RunSettlement = { ok: true; outcome: RunOutcome } | { ok: false; error: SerializedError };

/**
 * Internal: a run's promise settled, and the agent records that from its mailbox. It is an
 * instance of this class, never a protocol message: the agent's schema takes only
 * instances (a wire message cannot be one), and the agent accepts it only for the very run
 * it started, compared by identity with a token nothing else holds. So no actor, local or
 * remote, can settle a live run. The token is a private field, so a dead-lettered instance
 * records only its plain fields.
 *
 * @example
 * ctx.tell(ctx.self, new RunFinished(active, runId, { ok: false, error: serializeError(e) }));
 * // in the handler: if (msg instanceof RunFinished && msg.isFor(rt.active.get(msg.runId))) ...
 */
export class RunFinished {
  readonly type = 'agent.run-finished' as const;
  readonly #token: object;

  constructor(token: object, readonly runId: string, readonly settlement: RunSettlement) {
    this.#token = token;
  }

  /** True when this is the outcome of the run `token` stands for. */
  isFor(token: object | undefined): boolean {
    return token !== undefined && this.#token === token;
  }
}
