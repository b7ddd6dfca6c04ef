// Dead letters are stored by storage/ (in memory, or in LMDB with a data dir); the kernel
// only records and replays them.
export type { DeadLetterRecord, DeadLetterStore, DeadLetterReason, DeadLetterQuery } from '../../storage/index.js';
