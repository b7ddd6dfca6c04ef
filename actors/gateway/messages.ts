import type { z } from 'zod';
import { instancesOr } from '../kernel/index.js';
import {
  AgentDeltaMessage, AgentErrorMessage, AgentResultMessage, requesterMessageSchema, type RequesterMessage, type RunRequest,
} from '../agent/index.js';

/**
 * What a gateway command is for: an agent by name (resolved by the agents module, anywhere
 * in the cluster), or any actor by address or path.
 */
export type GatewayTarget = { kind: 'agent'; name: string } | { kind: 'actor'; address: string };

/** A target as logs and inspection events show it. */
export function describeTarget(t: GatewayTarget): string {
  return t.kind === 'agent' ? `agent:${t.name}` : t.address;
}

/**
 * `gateway.stream`: start a run on a target that speaks the run protocol (ask `agent.run`,
 * answered by the acceptance; then `agent.delta` messages and one `agent.result` or
 * `agent.error` told to the gateway actor; `agent.cancel` aborts). Its caller waits on the
 * gateway's table of runs in flight, keyed by `runId`.
 *
 * Gateway commands are instances of these classes, never wire messages: the gateway
 * actor's schema takes only instances, so only code of this node (its HTTP routes and
 * modules) can command it, and a command built from a validated request is not parsed again.
 */
export class GatewayStream {
  readonly type = 'gateway.stream' as const;
  constructor(
    readonly runId: string,
    readonly target: GatewayTarget,
    readonly request: RunRequest,
    readonly correlationId: string | undefined,
    /** How long the target may take to accept the run (its ask). */
    readonly acceptTimeoutMs: number,
  ) {}
}

/** `gateway.request`: one ask to a target; the answer (or its error) goes to `settle`. */
export class GatewayRequest {
  readonly type = 'gateway.request' as const;
  constructor(
    readonly target: GatewayTarget,
    readonly message: unknown,
    readonly timeoutMs: number,
    readonly correlationId: string | undefined,
    readonly settle: (error: unknown, value?: unknown) => void,
  ) {}
}

/** `gateway.cancel`: abort a run in flight; its caller fails with `error`, the target is told. */
export class GatewayCancel {
  readonly type = 'gateway.cancel' as const;
  constructor(readonly runId: string, readonly error: unknown) {}
}

/**
 * What the gateway actor's mailbox takes as it is, with no schema run (Behaviour.instances):
 * the commands above and the agents' replies, all built by code of this node.
 */
export const GATEWAY_INSTANCES = [GatewayStream, GatewayRequest, GatewayCancel, AgentResultMessage, AgentDeltaMessage, AgentErrorMessage] as const;

/** What the gateway actor's mailbox takes: this node's commands, and run replies from any node. */
export type GatewayMessage = GatewayStream | GatewayRequest | GatewayCancel | RequesterMessage;

/**
 * Commands pass as the instances they are, and so do run replies an agent of this node built
 * (instances of the agent's reply classes: typed code of this process, see
 * AgentResultMessage); everything else must be a run reply (checked: it may come from
 * another node, or from any actor speaking the run protocol). Not a zod union, so that an
 * error names the bad field.
 */
export const gatewayMessageSchema: z.ZodType<GatewayMessage> = instancesOr<GatewayMessage, RequesterMessage>(GATEWAY_INSTANCES, requesterMessageSchema);
