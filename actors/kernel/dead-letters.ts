import type { Envelope, SerializedError } from '../../protocol/index.js';
import type { DeadLetterReason } from './cell.js';

/** A recorded dead letter. */
export interface DeadLetterRecord {
  id: string;
  at: number;
  reason: DeadLetterReason;
  envelope: Envelope;
  error?: SerializedError;
  attempts?: number;
}

/** Where dead letters are kept: in memory, or in LMDB once the node has a data dir. */
export interface DeadLetterStore {
  add(r: DeadLetterRecord): Promise<void> | void;
  list(opts?: { reason?: string; limit?: number; after?: string }): DeadLetterRecord[];
  get(id: string): DeadLetterRecord | undefined;
  remove(id: string): Promise<void> | void;
  count(): number;
}
