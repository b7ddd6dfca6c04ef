import { z } from 'zod';
import { addressSchema, serializedErrorSchema } from './envelope.js';

/**
 * System signals: lifecycle notices kept apart from user messages. A behaviour receives
 * them through its own `signal` handler, never mixed into its message union.
 */
export const terminatedReasonSchema = z.enum(['stopped', 'crashed', 'supervisor-stopped', 'node-down', 'not-found']);

/** Death watch: the watched actor stopped, and why. */
export const terminatedSchema = z.object({
  type: z.literal('signal.terminated'),
  ref: addressSchema,
  reason: terminatedReasonSchema,
  error: serializedErrorSchema.optional(),
});

export const signalSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('signal.started') }),
  z.object({ type: z.literal('signal.stopping') }),
  z.object({ type: z.literal('signal.restarting'), error: serializedErrorSchema.optional() }),
  terminatedSchema,
  z.object({ type: z.literal('signal.child-failed'), ref: addressSchema, error: serializedErrorSchema }),
]);

export type Signal = z.infer<typeof signalSchema>;
export type TerminatedReason = z.infer<typeof terminatedReasonSchema>;
export type Terminated = z.infer<typeof terminatedSchema>;

