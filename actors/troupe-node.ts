import pino from 'pino';
import { LmdbDeadLetterStore, NodeStore, PersistentLog } from '../storage/index.js';
import { Kernel, type KernelOptionsInput, type KernelStorage } from './kernel/node.js';

/** Options of a node: the kernel's, plus where its data lives. */
export type NodeOptionsInput = Omit<KernelOptionsInput, 'storage'> & {
  /** LMDB data dir. Without one the node keeps dead letters in memory and refuses persistent actors. */
  dataDir?: string;
};

/**
 * A troupe node: the actor kernel with its LMDB store. The package's `startNode` adds the
 * cluster transport and the HTTP gateway on top.
 */
export class TroupeNode extends Kernel {
  constructor(options: KernelOptionsInput, readonly store: NodeStore | undefined) {
    super(options);
  }
}

/**
 * Open storage (when a data dir is given) and start the kernel on it.
 *
 * @example
 * const node = await createNode({ id: 'n1', dataDir: './data' });
 */
export async function createNode(options: NodeOptionsInput = {}): Promise<TroupeNode> {
  const { dataDir, ...kernelOptions } = options;
  let store: NodeStore | undefined;
  let storage: KernelStorage | undefined;
  if (dataDir !== undefined) {
    const log = options.logger ?? pino({ level: options.logLevel ?? process.env.TROUPE_LOG_LEVEL ?? 'info' });
    store = await NodeStore.open({ dir: dataDir, logger: log });
    const s = store;
    // One log per key for the node's lifetime: an actor stopped and spawned again under the
    // same key continues the same sequence, in-flight commits included.
    const logs = new Map<string, PersistentLog<unknown, unknown>>();
    storage = {
      openJournal: (key, spec) => {
        let log = logs.get(key);
        if (!log) {
          log = new PersistentLog(s, key, { ...(spec.snapshotEvery ? { snapshotEvery: spec.snapshotEvery } : {}), ...(spec.keepSnapshots ? { keepSnapshots: spec.keepSnapshots } : {}) });
          logs.set(key, log);
        }
        return log;
      },
      deadLetters: new LmdbDeadLetterStore(s),
    };
  }
  let node: TroupeNode;
  try {
    node = new TroupeNode({ ...kernelOptions, ...(storage ? { storage } : {}) }, store);
  } catch (e) {
    await store?.close();
    throw e;
  }
  if (store) {
    const s = store;
    node.onClosed('storage', () => s.close());
  }
  return node;
}
