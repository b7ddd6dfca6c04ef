import { z } from 'zod';
import { addressSchema, serializedErrorSchema } from './envelope.js';

/**
 * System signals: lifecycle notices kept apart from user messages. A behaviour receives
 * them through its own `signal` handler, never mixed into its message union.
 */
export const terminatedReasonSchema = z.enum(['stopped', 'crashed', 'supervisor-stopped', 'node-down', 'not-found']);

export const signalSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('signal.started') }),
  z.object({ type: z.literal('signal.stopping') }),
  z.object({ type: z.literal('signal.restarting'), error: serializedErrorSchema.optional() }),
  z.object({
    type: z.literal('signal.terminated'),
    ref: addressSchema,
    reason: terminatedReasonSchema,
    error: serializedErrorSchema.optional(),
  }),
  z.object({ type: z.literal('signal.child-failed'), ref: addressSchema, error: serializedErrorSchema }),
]);

export type Signal = z.infer<typeof signalSchema>;
export type TerminatedReason = z.infer<typeof terminatedReasonSchema>;
export type Terminated = Extract<Signal, { type: 'signal.terminated' }>;

export function isSignal(m: unknown): m is Signal {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string'
    && (m as { type: string }).type.startsWith('signal.');
}
