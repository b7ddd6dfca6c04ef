import { z } from 'zod';
import { agentMessageSchema, type AgentMessage } from './messages.js';
import { QueueTick } from './queue-tick.js';
import { RunFinished } from './run-finished.js';

/** What an agent actor's mailbox takes: the protocol, its own runs' outcomes and its queue timer. */
export type AgentInbox = AgentMessage | RunFinished | QueueTick;

/**
 * The protocol schema, letting RunFinished and QueueTick instances through as they are. Not a zod union:
 * its error would say "Invalid input" where the protocol's names the bad field.
 */
export const agentInboxSchema: z.ZodType<AgentInbox> = z.unknown().transform((v, ctx): AgentInbox => {
  if (v instanceof RunFinished || v instanceof QueueTick) return v;
  const r = agentMessageSchema.safeParse(v);
  if (r.success) return r.data;
  for (const issue of r.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
  return z.NEVER;
});
