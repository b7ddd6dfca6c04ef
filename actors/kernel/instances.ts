import { z, type ZodType } from 'zod';

/** A class whose instances an actor takes as they are (see Behaviour.instances). */
export type InstanceClass<T = unknown> = abstract new (...args: never[]) => T;

/**
 * A mailbox schema that lets instances of `classes` through as they are (commands and
 * replies built by typed code of this process) and checks everything else with `schema`.
 * Not a zod union, so that an error names the bad field as `schema` does. An actor with such
 * a schema declares the same classes as its `instances`, so the kernel skips the schema for
 * them; the schema is the same rule for callers that parse with it directly.
 *
 * @example
 * const inbox = instancesOr([RunFinished, QueueTick], agentMessageSchema);
 * behaviour({ messages: inbox, instances: [RunFinished, QueueTick], receive });
 */
export function instancesOr<I, M>(classes: ReadonlyArray<InstanceClass<I>>, schema: ZodType<M>): ZodType<I | M> {
  return z.unknown().transform((v, ctx): I | M => {
    for (let i = 0; i < classes.length; i++) if (v instanceof classes[i]!) return v as I;
    const r = schema.safeParse(v);
    if (r.success) return r.data;
    for (const issue of r.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
    return z.NEVER;
  });
}
