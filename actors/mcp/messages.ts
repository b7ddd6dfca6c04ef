import { z } from 'zod';
import type { McpSession, McpToolInfo } from './session.js';

/** (Re)connect now: sent at start and by the backoff timer. */
export class McpConnect {
  readonly type = 'mcp.connect' as const;
  constructor(readonly generation: number) {}
}

/** A session opened (initialized, tools listed). */
export class McpOpened {
  readonly type = 'mcp.opened' as const;
  constructor(readonly generation: number, readonly session: McpSession) {}
}

/** Opening a session failed. */
export class McpOpenFailed {
  readonly type = 'mcp.open-failed' as const;
  constructor(readonly generation: number, readonly error: unknown) {}
}

/** The session's transport closed: the process died or the HTTP session was lost. */
export class McpLost {
  readonly type = 'mcp.lost' as const;
  constructor(readonly generation: number, readonly reason: string) {}
}

/** `notifications/tools/list_changed` brought a new tool list. */
export class McpToolsChanged {
  readonly type = 'mcp.tools-changed' as const;
  constructor(readonly generation: number, readonly tools: McpToolInfo[]) {}
}

/** Call a tool (asked; answered with the `tools/call` result or a coded error). */
export class McpCall {
  readonly type = 'mcp.call' as const;
  constructor(
    readonly tool: string,
    readonly args: Record<string, unknown>,
    readonly timeoutMs: number,
    readonly signal: AbortSignal | undefined,
  ) {}
}

/** A call finished (bookkeeping: counts, latency, a 404 that means the session is gone). */
export class McpCallDone {
  readonly type = 'mcp.call-done' as const;
  constructor(readonly generation: number, readonly ok: boolean, readonly ms: number, readonly sessionLost: boolean) {}
}

/** What a connection actor takes: local instances only (they hold clients and signals). */
export type McpConnectionMessage = McpConnect | McpOpened | McpOpenFailed | McpLost | McpToolsChanged | McpCall | McpCallDone;

/** Instances pass; anything else (from another node, or a typo) is refused at the mailbox. */
export const mcpConnectionMessageSchema: z.ZodType<McpConnectionMessage> = z.custom<McpConnectionMessage>(
  (v) => v instanceof McpConnect || v instanceof McpOpened || v instanceof McpOpenFailed || v instanceof McpLost
    || v instanceof McpToolsChanged || v instanceof McpCall || v instanceof McpCallDone,
  'not an MCP connection message (they are local to the node)',
);
