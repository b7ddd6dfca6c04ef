import { z } from 'zod';
import { agentActorPath } from '../agent/index.js';

/** What a kill switch covers: one agent, an actor subtree, this node, or every node. */
export const KILLSWITCH_SCOPES = ['agent', 'tree', 'node', 'cluster'] as const;
export type KillSwitchScope = (typeof KILLSWITCH_SCOPES)[number];

const target = z.string().min(1).max(512).regex(/^[A-Za-z0-9._\-/:*]+$/, 'target: letters, digits and . _ - / : *');

/**
 * `POST /api/v1/killswitch`: `target` is an agent name (agent), an actor path prefix such as
 * `user/agents` (tree), a node id (node; default this node), or `*` (cluster).
 *
 * @example killSwitchRequestSchema.parse({ scope: 'agent', target: 'helper', reason: 'runaway spend' })
 */
export const killSwitchRequestSchema = z.strictObject({
  scope: z.enum(KILLSWITCH_SCOPES),
  target: target.optional(),
  reason: z.string().min(1).max(512),
  /** Who engages it, as the caller names itself (the API key id is logged beside it). */
  by: z.string().min(1).max(128).optional(),
});
export type KillSwitchRequest = z.infer<typeof killSwitchRequestSchema>;

/** `DELETE /api/v1/killswitch` (body or query): which switch to release. */
export const killSwitchReleaseSchema = z.strictObject({
  scope: z.enum(KILLSWITCH_SCOPES),
  target: target.optional(),
  by: z.string().min(1).max(128).optional(),
});

/** An engaged kill switch as persisted (LMDB `killswitch` database) and listed; validated on read. */
export const killSwitchRecordSchema = z.object({
  v: z.literal(1),
  scope: z.enum(KILLSWITCH_SCOPES),
  target: target,
  reason: z.string().max(512),
  by: z.string().max(200),
  at: z.number(),
  /** The node where it was engaged (a cluster switch is kept by every node it reached). */
  origin: z.string().max(128),
});
export type KillSwitchRecord = z.infer<typeof killSwitchRecordSchema>;

/** The storage key of a switch. */
export function switchKey(scope: KillSwitchScope, target: string): string {
  return `${scope}:${target}`;
}

/** True when the switch covers the agent `name` of node `node`. */
export function covers(r: Pick<KillSwitchRecord, 'scope' | 'target'>, name: string, node: string): boolean {
  switch (r.scope) {
    case 'agent': return r.target === name;
    case 'node': return r.target === node;
    case 'cluster': return true;
    case 'tree': {
      const path = agentActorPath(name);
      const prefix = r.target.replace(/^\/+|\/+$/g, '');
      return path === prefix || path.startsWith(`${prefix}/`);
    }
  }
}

/**
 * A released switch as remembered (LMDB `killswitch.released`), so that an older engage
 * still travelling to this node (durable delivery, any order) cannot bring it back: a change
 * applies only when it is newer (`at`, then `origin`) than what this node holds for the key.
 */
export const killSwitchReleasedSchema = z.object({
  v: z.literal(1),
  scope: z.enum(KILLSWITCH_SCOPES),
  target: target,
  by: z.string().max(200),
  at: z.number(),
  origin: z.string().max(128),
});
export type KillSwitchReleased = z.infer<typeof killSwitchReleasedSchema>;

/** True when change `a` (its `at`, then its `origin`) is newer than change `b`. */
export function newer(a: { at: number; origin: string }, b: { at: number; origin: string } | undefined): boolean {
  if (b === undefined) return true;
  return a.at !== b.at ? a.at > b.at : a.origin > b.origin;
}
