/**
 * The one registry of troupe's coded errors. Every error troupe raises carries a stable
 * `TROUPE_ERR_<AREA>_<WHAT>` code from this table; the README lists them (a test checks
 * that it does). Wrap a library's error by passing it as `cause`.
 *
 * @example
 * throw new TroupeError('TROUPE_ERR_ACTOR_ASK_TIMEOUT', 'ask to troupe://a/user/x timed out after 50ms');
 */
export const errorCatalog = {
  // protocol
  TROUPE_ERR_PROTOCOL_DECODE: { status: 400, description: 'bytes could not be decoded as msgpack' },
  TROUPE_ERR_PROTOCOL_INVALID: { status: 400, description: 'a decoded frame, envelope or message failed schema validation' },
  TROUPE_ERR_PROTOCOL_FRAME_TOO_LARGE: { status: 413, description: 'an inbound frame exceeded the size limit' },
  TROUPE_ERR_PROTOCOL_UNKNOWN_CODE: { status: 502, description: "a peer answered with an error code this node's registry does not have (a newer peer); details.code names it" },
  // config
  TROUPE_ERR_CONFIG_INVALID: { status: 400, description: 'options or config file failed validation or conflict' },
  // node
  TROUPE_ERR_NODE_CLOSED: { status: 503, description: 'the node is closing or closed' },
  TROUPE_ERR_NODE_MODULE_MISSING: { status: 500, description: 'a module or caller asked for a module the node was not started with' },
  TROUPE_ERR_NODE_ALREADY_STARTED: { status: 409, description: "the node's modules or its cluster link were started a second time" },
  TROUPE_ERR_NODE_MODULE_START: { status: 500, description: 'a module could not start: an actor it needs did not come up' },
  // actors
  TROUPE_ERR_ACTOR_ASK_TIMEOUT: { status: 504, description: 'an ask got no reply within its timeout' },
  TROUPE_ERR_ACTOR_MAILBOX_FULL: { status: 503, description: "the target's bounded mailbox is full; the message was dead-lettered" },
  TROUPE_ERR_ACTOR_NOT_FOUND: { status: 404, description: 'no live actor at that address or name; the message was dead-lettered' },
  TROUPE_ERR_ACTOR_NAME_TAKEN: { status: 409, description: 'a sibling with that name already exists' },
  TROUPE_ERR_ACTOR_INVALID_MESSAGE: { status: 400, description: "a message failed the actor's zod schema" },
  TROUPE_ERR_ACTOR_STOPPED: { status: 410, description: 'the actor stopped before it replied' },
  TROUPE_ERR_ACTOR_FAILED: { status: 500, description: 'the actor crashed while handling the asked message' },
  TROUPE_ERR_ACTOR_NOT_PERSISTENT: { status: 409, description: 'ctx.persist was called by an actor whose behaviour has no persistence spec' },
  TROUPE_ERR_ACTOR_TIMER_INVALID: { status: 400, description: 'an actor timer was given a key, delay or interval out of bounds' },
  TROUPE_ERR_ACTOR_TIMER_LIMIT: { status: 503, description: 'an actor already holds the maximum number of active timers' },
  TROUPE_ERR_DEAD_LETTER_NOT_FOUND: { status: 404, description: 'no dead letter with that id' },
  // supervision
  TROUPE_ERR_SUPERVISOR_INTENSITY: { status: 500, description: 'restart intensity exceeded; the supervisor failed and escalated' },
  TROUPE_ERR_SUPERVISOR_ESCALATED: { status: 500, description: 'a child failure was escalated past the top supervisor' },
  // storage
  TROUPE_ERR_STORAGE_WRITE: { status: 500, description: 'an LMDB write failed (disk full, I/O error); nothing was acknowledged' },
  TROUPE_ERR_STORAGE_CORRUPT_RECORD: { status: 500, description: 'a persisted record failed validation on read (names key and sequence number)' },
  TROUPE_ERR_STORAGE_LOCKED: { status: 409, description: 'another live process holds the data dir' },
  TROUPE_ERR_STORAGE_CLOSED: { status: 503, description: 'the store is closed' },
  TROUPE_ERR_STORAGE_FULL: { status: 503, description: 'a bounded durable queue (outbox) is at its limit; nothing was added' },
  TROUPE_ERR_STORAGE_SECRET: { status: 500, description: 'a secret kept encrypted at rest could not be opened (wrong or missing data key, or a changed record)' },
  // transport
  TROUPE_ERR_TRANSPORT_AUTH: { status: 401, description: 'peer handshake failed: wrong secret, cluster or protocol version' },
  TROUPE_ERR_TRANSPORT_NODE_DOWN: { status: 503, description: 'the target node is down or unreachable' },
  TROUPE_ERR_TRANSPORT_QUEUE_FULL: { status: 503, description: "a link's bounded outbound queue is full; the message was dead-lettered" },
  TROUPE_ERR_TRANSPORT_CLOSED: { status: 503, description: 'the transport is closed' },
  TROUPE_ERR_TRANSPORT_LISTEN: { status: 500, description: 'the peer port could not be opened (address in use or not permitted)' },
  // gateway
  TROUPE_ERR_GATEWAY_BAD_REQUEST: { status: 400, description: 'request body or parameters failed validation' },
  TROUPE_ERR_GATEWAY_UNAUTHORIZED: { status: 401, description: 'missing or unknown API key' },
  TROUPE_ERR_GATEWAY_NOT_FOUND: { status: 404, description: 'no such route or resource' },
  TROUPE_ERR_GATEWAY_RATE_LIMITED: { status: 429, description: 'per-key rate limit exceeded; see retry-after' },
  TROUPE_ERR_GATEWAY_BODY_TOO_LARGE: { status: 413, description: 'request body over the limit' },
  TROUPE_ERR_GATEWAY_INSECURE_BIND: { status: 500, description: 'refused to bind a non-loopback host with no API keys (use --insecure)' },
  TROUPE_ERR_GATEWAY_NOT_READY: { status: 503, description: 'the node is starting or draining' },
  TROUPE_ERR_GATEWAY_INTERNAL: { status: 500, description: 'a route failed with an uncoded error (a bug); the node logs the cause' },
  // agents and models
  TROUPE_ERR_AGENT_NOT_FOUND: { status: 404, description: 'no agent with that name in the cluster' },
  TROUPE_ERR_AGENT_INVALID_SPEC: { status: 400, description: 'the agent spec failed validation' },
  TROUPE_ERR_AGENT_EXISTS: { status: 409, description: 'an agent with that name is already running on this node (POST /api/v1/agents, spawnAgent)' },
  TROUPE_ERR_AGENT_RUN_DUPLICATE: { status: 409, description: 'a run with that id is already in flight or queued' },
  TROUPE_ERR_AGENT_MAX_TURNS: { status: 500, description: 'the tool loop hit the max turns limit' },
  TROUPE_ERR_AGENT_CANCELLED: { status: 499, description: 'the run was cancelled (client gone or explicit cancel)' },
  TROUPE_ERR_AGENT_TIMEOUT: { status: 504, description: 'the run exceeded its time limit' },
  TROUPE_ERR_AGENT_BUSY: { status: 503, description: 'the agent has too many runs in flight and queued (limits.maxQueuedRuns)' },
  TROUPE_ERR_AGENT_STOPPED: { status: 503, description: "the agent's supervisor gave up on it (past its restart intensity); it stays stopped until it is created again or the node restarts" },
  TROUPE_ERR_AGENT_UNHEALTHY: { status: 503, description: 'the agent crashed after limits.maxConsecutiveFailures failed model calls; its supervisor restarts it' },
  TROUPE_ERR_MODEL_RATE_LIMITED: { status: 429, description: 'the upstream model rate-limited us past the retry budget' },
  TROUPE_ERR_MODEL_TIMEOUT: { status: 504, description: 'the upstream model did not answer (or stalled) within the timeout' },
  TROUPE_ERR_MODEL_UPSTREAM: { status: 502, description: 'the upstream model failed (5xx or bad response)' },
  TROUPE_ERR_MODEL_BAD_REQUEST: { status: 400, description: 'the upstream model rejected the request (4xx)' },
  // drills
  TROUPE_ERR_DRILL_DISABLED: { status: 403, description: 'drills are off on this node (start it with --allow-drills) or were switched off' },
  TROUPE_ERR_DRILL_NOT_FOUND: { status: 404, description: 'no drill with that id' },
  TROUPE_ERR_DRILL_TARGET: { status: 400, description: 'the drill names no target, or a target it cannot inject into' },
  TROUPE_ERR_DRILL_RUNNING: { status: 409, description: 'a drill is already running on that target' },
  TROUPE_ERR_DRILL_INJECTED: { status: 500, description: 'a fault injected by a drill (crash, kill, poison)' },
  TROUPE_ERR_TOOL_FAILED: { status: 500, description: 'a tool threw; the error went back to the model as the tool result' },
  // LLM-aware supervision, circuit breakers, kill switch
  TROUPE_ERR_MODEL_AUTH: { status: 502, description: "the upstream model refused the agent's credentials (401/403); the agent stops with this reason, no restart loop" },
  TROUPE_ERR_MODEL_CIRCUIT_OPEN: { status: 503, description: "the circuit breaker on the agent's upstream model is open after consecutive failures; calls fail fast until a half-open probe succeeds" },
  TROUPE_ERR_AGENT_CIRCUIT_OPEN: { status: 503, description: 'the circuit breaker on a target the agent calls (another agent or actor, local or remote) is open after consecutive failures; calls to it fail fast until a half-open probe succeeds' },
  TROUPE_ERR_AGENT_BUDGET_EXCEEDED: { status: 429, description: "the agent used its token or cost budget for the window (spec budget); runs are refused until the window resets" },
  TROUPE_ERR_KILLSWITCH_ENGAGED: { status: 503, description: 'a kill switch covers the agent: its runs in flight were cancelled and new runs are refused until it is released' },
  TROUPE_ERR_KILLSWITCH_NOT_FOUND: { status: 404, description: 'no engaged kill switch with that scope and target' },
  // aoa task runtime
  TROUPE_ERR_AOA_INVALID_TASK: { status: 400, description: 'a task body failed validation (fields, sizes, or an unknown task type)' },
  TROUPE_ERR_AOA_TASK_NOT_FOUND: { status: 404, description: 'no task with that id (never submitted, or pruned after retention)' },
  TROUPE_ERR_AOA_TASK_FINISHED: { status: 409, description: 'the task already finished (completed, failed or cancelled); it cannot be cancelled' },
  TROUPE_ERR_AOA_QUEUE_FULL: { status: 503, description: 'the task runtime holds its maximum of open tasks; nothing was added' },
  TROUPE_ERR_AOA_TIMEOUT: { status: 504, description: "a task attempt ran past the task's timeout_seconds and was aborted" },
  TROUPE_ERR_AOA_CANCELLED: { status: 499, description: 'the task was cancelled; a running attempt was aborted' },
  TROUPE_ERR_AOA_NO_HANDLER: { status: 500, description: 'no handler is registered for the task type when the task ran' },
  TROUPE_ERR_AOA_HANDLER_FAILED: { status: 500, description: 'the task handler threw or returned a result that could not be stored' },
  // scheduler
  TROUPE_ERR_SCHEDULER_INVALID_JOB: { status: 400, description: 'a job body (schedule, cron expression, time zone, policy) or a pause, resume or backfill body failed validation' },
  TROUPE_ERR_SCHEDULER_JOB_NOT_FOUND: { status: 404, description: 'no scheduled job with that id' },
  TROUPE_ERR_SCHEDULER_JOB_STATE: { status: 409, description: 'the job is in a state that does not allow the operation (a completed job cannot be triggered)' },
  TROUPE_ERR_SCHEDULER_FULL: { status: 503, description: 'the node holds the maximum number of scheduled jobs' },
  TROUPE_ERR_SCHEDULER_NO_RUNTIME: { status: 503, description: 'a fire could not be submitted: the node runs no task runtime and the scheduler was given no submitter' },
  // mcp
  TROUPE_ERR_MCP_INVALID_SERVER: { status: 400, description: 'an MCP server config (config file, startNode option or POST /api/v1/mcp-servers body) failed validation' },
  TROUPE_ERR_MCP_SERVER_NOT_FOUND: { status: 404, description: 'no MCP server connection with that name' },
  TROUPE_ERR_MCP_SERVER_EXISTS: { status: 409, description: 'an MCP server connection with that name already exists' },
  TROUPE_ERR_MCP_SERVER_DOWN: { status: 503, description: 'the MCP server is not connected (starting, or restarting after its process died or its session was lost): its tools fail fast' },
  TROUPE_ERR_MCP_CALL_TIMEOUT: { status: 504, description: 'an MCP tool call got no result within its time limit' },
  TROUPE_ERR_MCP_FORBIDDEN: { status: 403, description: 'POST /api/v1/mcp-servers may not add that kind of server on this node (mcp.apiServers: none by default, http, or all)' },
  TROUPE_ERR_MCP_LIMIT: { status: 503, description: 'the node holds the maximum number of MCP server connections (64); nothing was added' },
  // audit
  TROUPE_ERR_AUDIT_RECORD_INVALID: { status: 400, description: 'an audit record failed validation or is over the size limit; nothing was appended' },
  TROUPE_ERR_AUDIT_KEY: { status: 500, description: "the audit signing key in the data dir could not be read or created, or is not an Ed25519 key" },
  TROUPE_ERR_AUDIT_CHECKPOINT_INVALID: { status: 400, description: "a checkpoint failed validation or its Ed25519 signature did not verify; it was not kept" },
  TROUPE_ERR_AUDIT_FULL: { status: 503, description: "too many audit records are waiting to be written (audit.maxPending); the action they record is refused" },
  // fabric
  TROUPE_ERR_FABRIC_DIRECT_REFUSED: { status: 403, description: 'direct P2P to a target system is allowed only under PRESET_6_SCRAPPY' },
  TROUPE_ERR_FABRIC_NO_PLANE: { status: 422, description: 'no configured fabric plane can carry this action type to this target system under the active preset' },
  TROUPE_ERR_FABRIC_PLANE_NOT_FOUND: { status: 404, description: 'no fabric plane with that id' },
  TROUPE_ERR_FABRIC_BREAKER_OPEN: { status: 503, description: "the plane's circuit breaker is open after repeated failures; the action was not sent" },
  TROUPE_ERR_FABRIC_CONNECTOR_FAILED: { status: 502, description: "the plane's connector failed after its retries (network error or non-2xx answer)" },
  TROUPE_ERR_FABRIC_TIMEOUT: { status: 504, description: "the plane's connector did not answer within its timeout" },
  TROUPE_ERR_FABRIC_INVALID_REQUEST: { status: 400, description: 'a fabric action or preset body failed validation (action type, target system, sizes, unknown preset)' },
  TROUPE_ERR_FABRIC_BUSY: { status: 503, description: 'the plane has its maximum of actions in flight (fabric.maxInFlightPerPlane); the action was not sent' },
  // a2a
  TROUPE_ERR_A2A_AGENT_NOT_FOUND: { status: 404, description: "an A2A card was asked of an agent the cluster does not run, or the node's agent had no agent to route a task to" },
  TROUPE_ERR_A2A_TASK_FAILED: { status: 500, description: "an A2A task's agent run failed with an uncoded error (the task's status message and metadata carry the code)" },
  TROUPE_ERR_A2A_TASK_INTERRUPTED: { status: 500, description: 'an A2A task was working when its node stopped: failed at a graceful stop, or on restart after a crash or kill -9; never left working' },
  TROUPE_ERR_A2A_MESSAGE_EXPIRED: { status: 410, description: 'an A2A EXECUTE or DELEGATE arrived after its expiresAt; it was refused and not run' },
  TROUPE_ERR_A2A_DELEGATION_CYCLE: { status: 409, description: 'a delegation would call an agent already in the call chain (a cycle); refused before sending' },
  TROUPE_ERR_A2A_DELEGATION_DEPTH: { status: 400, description: "a delegation would nest deeper than the calling agent's delegation.maxDepth; refused before sending" },
  TROUPE_ERR_A2A_DELEGATION_NOT_ALLOWED: { status: 403, description: "an agent tried to delegate to an agent its spec's delegates list does not name" },
  TROUPE_ERR_A2A_DELEGATION_TIMEOUT: { status: 504, description: 'a delegated task got no answer within the per-target timeout (delegation.timeoutMs)' },
  TROUPE_ERR_A2A_PUSH_URL_REFUSED: { status: 400, description: 'a push notification URL is not http(s), or its host resolves to a loopback, private, link-local, metadata or other non-public address (allow it with a2a.push.allowHosts or allowPrivate)' },
  TROUPE_ERR_A2A_PUSH_CONFIG_LIMIT: { status: 400, description: 'a task already holds a2a.push.maxConfigsPerTask push notification configs, or a config is over its size limits' },
  TROUPE_ERR_A2A_PUSH_DELIVERY_FAILED: { status: 502, description: 'a push notification was given up: the receiver kept failing past a2a.push.maxAttempts, or refused it for good (a 4xx other than 408/429)' },
  // orchestration (plans, sessions, approvals)
  TROUPE_ERR_PLAN_INVALID: { status: 400, description: 'a workflow plan (DAG) failed its schema or graph checks (cycle, unknown agent, input not upstream, unreachable node, size); details.problems lists them' },
  TROUPE_ERR_PLAN_NO_AGENTS: { status: 503, description: 'no agents are available to plan a workflow with' },
  TROUPE_ERR_SESSION_NOT_FOUND: { status: 404, description: 'no session with that id (never created, or expired past its TTL)' },
  TROUPE_ERR_SESSION_BUSY: { status: 409, description: 'another request is already attached to the session (double texting is rejected by default)' },
  TROUPE_ERR_SESSION_FINISHED: { status: 409, description: 'the session already finished (completed, failed or cancelled); it cannot be cancelled or resumed' },
  TROUPE_ERR_SESSION_LIMIT: { status: 503, description: 'the node holds its maximum number of open sessions; nothing was started' },
  TROUPE_ERR_SESSION_NODE_FAILED: { status: 502, description: 'a workflow node failed after its retries (and fallback agent); the session failed' },
  TROUPE_ERR_SESSION_NODE_TIMEOUT: { status: 504, description: "a workflow node's attempt ran past its timeout_ms and was cancelled" },
  TROUPE_ERR_SESSION_CANCELLED: { status: 499, description: 'the session was cancelled (DELETE /v1/sessions/:id); its running nodes were cancelled' },
  TROUPE_ERR_SESSION_INVALID: { status: 400, description: 'a workflow request failed validation (an empty request)' },
  TROUPE_ERR_APPROVAL_INVALID: { status: 400, description: 'a decision failed validation (decision approve | reject | modify, reason, input)' },
  TROUPE_ERR_SESSION_DETACHED: { status: 499, description: 'a request stopped waiting for its session (client gone or shutdown); the session goes on and can be resumed with x-session-id' },
  TROUPE_ERR_APPROVAL_NOT_FOUND: { status: 404, description: 'no approval with that id' },
  TROUPE_ERR_APPROVAL_FORBIDDEN: { status: 403, description: "the decider (x-troupe-user) is not among the approval's approvers" },
  TROUPE_ERR_APPROVAL_CONFLICT: { status: 409, description: 'the approval was already decided otherwise; details.winner names the first decision' },
  // agent run queue (issue 16)
  TROUPE_ERR_AGENT_QUEUE_TIMEOUT: { status: 503, description: "the run could not start within its queue deadline (x-troupe-queue-deadline-ms, or the agent's limits.queueDeadlineMs): every run slot (limits.maxConcurrentRuns) stayed busy; retry after retry-after" },
  TROUPE_ERR_AGENT_QUEUE_SHARE_EXCEEDED: { status: 429, description: 'the caller (API key) already has limits.maxQueuedRunsPerCaller runs waiting for the agent; retry after retry-after' },
  // PII policies and external A2A agents
  TROUPE_ERR_PII_BLOCKED: { status: 422, description: 'a BLOCK PII policy refused context leaving an agent because it holds PII; details name the kinds and counts, never the values' },
  TROUPE_ERR_PII_TEXT_TOO_LARGE: { status: 413, description: 'a text to scan for PII is longer than the pii module\'s maxScanChars; nothing was shared' },
  TROUPE_ERR_A2A_EXTERNAL_URL_REFUSED: { status: 400, description: 'an external A2A agent\'s URL (or an address it resolves to, or an endpoint its card names) is not http(s) or is loopback, private, link-local or metadata and the node\'s externalAgents config does not allow it (SSRF)' },
  TROUPE_ERR_A2A_EXTERNAL_UNREACHABLE: { status: 502, description: 'the remote A2A server of an external (proxy) agent could not be reached, refused the call or broke its stream past the resubscribe attempts' },
  TROUPE_ERR_A2A_EXTERNAL_TASK_FAILED: { status: 502, description: 'the remote task of an external (proxy) agent ended failed, rejected or canceled, or needs auth the proxy cannot give' },
  TROUPE_ERR_A2A_EXTERNAL_NO_INPUT: { status: 400, description: 'a run of an external (proxy) agent had no user or tool text to send to the remote agent' },
  TROUPE_ERR_SESSION_NODE_INPUT_REQUIRED: { status: 502, description: "a workflow node's A2A task asked for input (input-required or auth-required); a DAG node has no one to answer, so its task is cancelled and the attempt fails" },
  TROUPE_ERR_A2A_HOME_UNREACHABLE: { status: 502, description: "the node of an A2A task's agent could not be reached from the node that took the request (within the call's retries), or the peer link dropped while that task's events were streamed back (the task itself stays truthful on its node)" },
  TROUPE_ERR_A2A_STREAM_OVERFLOW: { status: 503, description: "a task's events streamed back from the agent's node outran the reader past the bounded buffer (in events or bytes); the stream ends (the task goes on on its node; getTask or resubscribe finds it)" },
  TROUPE_ERR_A2A_EXTERNAL_ANSWER_TOO_LARGE: { status: 502, description: "an external (proxy) agent's remote server answered with more than externalAgents.maxResponseBytes (its card, a call's answer or one event stream); the answer was cut" },
  TROUPE_ERR_A2A_CONTEXT_TOO_LARGE: { status: 413, description: "a CONTEXT_SHARE's context is over 256 KiB of JSON; it was refused (a coded context_ack) and nothing was kept" },
  TROUPE_ERR_A2A_PUSH_CONFIG_INVALID: { status: 400, description: 'a push notification config\'s token, authentication scheme or credentials hold characters an HTTP header cannot carry (CR, LF or other control characters); it was not saved' },
} as const satisfies Record<string, { status: number; description: string }>;

export type ErrorCode = keyof typeof errorCatalog;

export interface TroupeErrorOptions {
  cause?: unknown;
  details?: Record<string, unknown>;
}

/** A coded troupe error. `code` is stable; `status` is the HTTP status the gateway uses. */
export class TroupeError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message?: string, options: TroupeErrorOptions = {}) {
    super(message ?? errorCatalog[code].description, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TroupeError';
    this.code = code;
    this.status = errorCatalog[code].status;
    if (options.details) this.details = options.details;
  }

  /** A plain object for the wire (msgpack) or JSON. */
  toJSON(): SerializedError {
    return { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

export interface SerializedError {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

/** True when `e` is a TroupeError, optionally with a given code. */
export function isTroupeError(e: unknown, code?: ErrorCode): e is TroupeError {
  return e instanceof TroupeError && (code === undefined || e.code === code);
}

/**
 * Turn anything thrown into something that can cross the wire. Only actors' failures cross
 * it (a handler's throw, `ctx.replyError`, a run's error), so a throwable that carries no
 * troupe code is the actor failing: TROUPE_ERR_ACTOR_FAILED with its message.
 *
 * @example serializeError(new Error('boom')) // { code: 'TROUPE_ERR_ACTOR_FAILED', message: 'boom' }
 */
export function serializeError(e: unknown): SerializedError {
  if (e instanceof TroupeError) return e.toJSON();
  if (e instanceof Error) return { code: 'TROUPE_ERR_ACTOR_FAILED', message: e.message };
  return { code: 'TROUPE_ERR_ACTOR_FAILED', message: String(e) };
}

/**
 * Rebuild a TroupeError from its wire form. A code this node's registry lacks (a peer of a
 * newer release) becomes TROUPE_ERR_PROTOCOL_UNKNOWN_CODE with the peer's code in
 * `details.code`, never a guess at what went wrong.
 *
 * @example deserializeError({ code: 'TROUPE_ERR_ACTOR_STOPPED', message: 'gone' }).code // 'TROUPE_ERR_ACTOR_STOPPED'
 */
export function deserializeError(s: SerializedError): TroupeError {
  if (Object.hasOwn(errorCatalog, s.code)) return new TroupeError(s.code as ErrorCode, s.message, s.details ? { details: s.details } : {});
  return new TroupeError('TROUPE_ERR_PROTOCOL_UNKNOWN_CODE', s.message, { details: { ...s.details, code: String(s.code).slice(0, 100) } });
}
