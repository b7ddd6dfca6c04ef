import type { ModelDelta, SerializedError } from '../../protocol/index.js';
import type { RunResult } from './messages.js';

/**
 * The run-protocol messages an agent actor tells its requester (`agent.delta`,
 * `agent.result`, `agent.error`), as instances of these classes. The agent builds them in
 * this process with typed code from values it made itself (the model's parsed answer, its
 * own trace, a serialized error), so a requester's mailbox schema (the gateway actor's) takes
 * an instance as it is, instead of parsing a result it could not be wrong about. Nothing
 * outside this process can make one: sent to another node, an instance is encoded as the
 * plain object it holds (msgpackr keeps its fields) and the requester there parses it like
 * any wire message, as it parses plain objects from any other local actor.
 *
 * @example
 * ctx.tell(replyTo, new AgentResultMessage(runId, result));
 * // the requester declares these classes in its `instances` (see instancesOr in actors/kernel)
 */
export class AgentResultMessage {
  readonly type = 'agent.result' as const;
  constructor(readonly runId: string, readonly result: RunResult) {}
}

/** `agent.delta` as the agent builds it (see {@link AgentResultMessage}). */
export class AgentDeltaMessage {
  readonly type = 'agent.delta' as const;
  constructor(readonly runId: string, readonly delta: ModelDelta) {}
}

/** `agent.error` as the agent builds it (see {@link AgentResultMessage}). */
export class AgentErrorMessage {
  readonly type = 'agent.error' as const;
  constructor(readonly runId: string, readonly error: SerializedError) {}
}
