import { z } from 'zod';

/** Bytes one answer of a remote A2A server may have by default. */
export const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

/**
 * The external agents module's options (config key `externalAgents`). Outbound URLs reach
 * public unicast addresses only, unless `allowLoopback` / `allowPrivate` say otherwise.
 *
 * @example
 * externalAgentsModule({ allowLoopback: true }); // a test's fixture server on 127.0.0.1
 */
export const externalAgentsOptionsSchema = z.strictObject({
  /** Let external agents live on 127.0.0.0/8 or ::1. */
  allowLoopback: z.boolean().default(false),
  /** Let external agents live on private, carrier-grade NAT, unique-local and link-local addresses (metadata included). */
  allowPrivate: z.boolean().default(false),
  /**
   * Let agents created through the API (`POST /api/v1/agents`, the MCP tool, `agents.create`)
   * be external agents. Off by default: with it, any caller with an API key makes the node send
   * requests to a URL of its choice (public addresses only, unless allowed above).
   */
  allowApiAgents: z.boolean().default(false),
  /** Resubscriptions to a remote task after its stream broke, per call. */
  maxResubscribes: z.number().int().min(0).max(10).default(3),
  /** After the resubscriptions (or on a server that cannot be resubscribed to): the first wait between getTask reads of an unfinished remote task, doubling... */
  pollIntervalMs: z.number().int().min(1).max(60_000).default(500),
  /** ...up to this. */
  pollMaxIntervalMs: z.number().int().min(1).max(600_000).default(10_000),
  /** getTask reads of an unfinished remote task at most; then the call fails (TROUPE_ERR_A2A_EXTERNAL_UNREACHABLE). */
  maxPolls: z.number().int().min(1).max(10_000).default(30),
  /** Remote conversation threads kept per proxy agent (least recently used go first). */
  maxThreads: z.number().int().min(1).max(1_000_000).default(10_000),
  /** How long a cancel of a remote task may take (ours was canceled, or its call given up); its outcome is logged either way. */
  cancelTimeoutMs: z.number().int().min(100).max(60_000).default(5_000),
  /** Bytes one answer of a remote server may have (its card, a call's answer, one event stream); past it the answer is cut (TROUPE_ERR_A2A_EXTERNAL_ANSWER_TOO_LARGE). */
  maxResponseBytes: z.number().int().min(1_024).max(1_073_741_824).default(MAX_RESPONSE_BYTES),
});
export type ExternalAgentsOptionsInput = z.input<typeof externalAgentsOptionsSchema>;
export type ExternalAgentsOptions = z.output<typeof externalAgentsOptionsSchema>;
