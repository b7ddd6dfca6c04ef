import type { z } from 'zod';
import { instancesOr } from '../kernel/index.js';
import { agentMessageSchema, type AgentMessage } from './messages.js';
import { QueueTick } from './queue-tick.js';
import { RunFinished } from './run-finished.js';
import { AgentRunMessage } from './run-message.js';

/** What an agent actor's mailbox takes: the protocol, its own runs' outcomes and its queue timer. */
export type AgentInbox = AgentMessage | AgentRunMessage | RunFinished | QueueTick;

/**
 * What an agent's mailbox takes as it is: runs a requester of this process checked
 * (checkRunMessage), its own runs' outcomes and queue ticks.
 */
export const AGENT_INBOX_INSTANCES = [AgentRunMessage, RunFinished, QueueTick] as const;

/**
 * The protocol schema, letting RunFinished and QueueTick instances through as they are. Not a zod union:
 * its error would say "Invalid input" where the protocol's names the bad field.
 */
export const agentInboxSchema: z.ZodType<AgentInbox> = instancesOr<AgentRunMessage | RunFinished | QueueTick, AgentMessage>(AGENT_INBOX_INSTANCES, agentMessageSchema);
