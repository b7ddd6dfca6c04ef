import { z } from 'zod';
import { agentMessageSchema, type AgentMessage } from './messages.js';
import { RunFinished } from './run-finished.js';

/** What an agent actor's mailbox takes: the protocol, and its own runs' outcomes. */
export type AgentInbox = AgentMessage | RunFinished;

/**
 * The protocol schema, letting RunFinished instances through as they are. Not a zod union:
 * its error would say "Invalid input" where the protocol's names the bad field.
 */
export const agentInboxSchema: z.ZodType<AgentInbox> = z.unknown().transform((v, ctx): AgentInbox => {
  if (v instanceof RunFinished) return v;
  const r = agentMessageSchema.safeParse(v);
  if (r.success) return r.data;
  for (const issue of r.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
  return z.NEVER;
});
