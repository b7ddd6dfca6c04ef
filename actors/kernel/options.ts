import { hostname } from 'node:os';
import pino, { type Logger } from 'pino';
import { z } from 'zod';
import type { Clock } from '../../protocol/index.js';
import type { DeadLetterStore } from '../../storage/index.js';
import type { Dispatcher, NactDispatcher } from './dispatcher.js';
import type { ActorJournal } from './persistence.js';

const NODE_ID_RE = /^[A-Za-z0-9._-]{1,64}$/;

/** The logger a node makes when given none: pino JSON on stdout, level from TROUPE_LOG_LEVEL. */
export function defaultLogger(level?: string): Logger {
  return pino({ level: level ?? process.env.TROUPE_LOG_LEVEL ?? 'info' });
}

/** The node id when none is given: the hostname, made safe for an address. */
export function defaultNodeId(): string {
  const h = hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64);
  return h.length > 0 ? h : 'troupe';
}

/** Node options: one schema, validated once, defaults documented in the README. */
export const kernelOptionsSchema = z.object({
  id: z.string().regex(NODE_ID_RE, 'node id: 1-64 of [A-Za-z0-9._-]').default(defaultNodeId),
  mailboxCapacity: z.number().int().positive().max(10_000_000).default(10_000),
  askTimeoutMs: z.number().int().positive().max(3_600_000).default(5_000),
  shutdownTimeoutMs: z.number().int().positive().max(600_000).default(10_000),
  deadLetterLimit: z.number().int().positive().max(10_000_000).default(10_000),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
});

export type KernelOptions = z.output<typeof kernelOptionsSchema>;

export type KernelOptionsInput = z.input<typeof kernelOptionsSchema> & {
  logger?: Logger;
  clock?: Clock;
  random?: () => number;
  /** Persistence and dead-letter backends (storage/); in-memory dead letters without. */
  storage?: KernelStorage;
  /** What schedules actor turns (default: a {@link NactDispatcher} of the node's own). */
  dispatcher?: Dispatcher;
};

/** What the kernel needs from storage/, kept narrow. */
export interface KernelStorage {
  openJournal(key: string, spec: { snapshotEvery?: number; keepSnapshots?: number }): ActorJournal;
  /** Settle, delete and forget a key's journal (its actor is gone for good). */
  dropJournal(key: string): Promise<void>;
  deadLetters: DeadLetterStore;
}
