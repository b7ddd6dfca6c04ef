import type { Key } from 'lmdb';
import type { StoreDb } from './node-store.js';

/** A key range for {@link scanRange}. */
export interface ScanRange {
  start?: Key;
  end?: Key;
}

/**
 * Iterate `db` over a key range, stepping over values lmdb-js cannot decode. A range
 * iterator that hits such a value throws and cannot go on, so the scan finds the offending
 * key (keys decode on their own), reports it to `onUndecodable`, and restarts just after it.
 * Records that decode but are the wrong shape are the caller's to validate. For storage
 * internals.
 *
 * @example
 * for (const { key, value } of scanRange(db, {}, (key, err) => log.error({ key, err }, 'skipped'))) use(key, value);
 */
export function* scanRange(db: StoreDb, range: ScanRange, onUndecodable: (key: Key, cause: unknown) => void): Generator<{ key: Key; value: unknown }> {
  let start = range.start;
  let exclusiveStart = false;
  for (;;) {
    const it = db.getRange({ ...range, ...(start === undefined ? {} : { start }), exclusiveStart })[Symbol.iterator]();
    let last: Key | undefined;
    let culprit: Key | undefined;
    try {
      for (;;) {
        let step: IteratorResult<{ key: Key; value: unknown }>;
        try {
          step = it.next();
        } catch (cause) {
          const from = last ?? start;
          for (const k of db.getKeys({ ...range, ...(from === undefined ? {} : { start: from }), exclusiveStart: last !== undefined || exclusiveStart, limit: 1 })) culprit = k;
          if (culprit === undefined) return;
          onUndecodable(culprit, cause);
          break;
        }
        if (step.done) return;
        last = step.value.key;
        yield step.value;
      }
    } finally {
      it.return?.();
    }
    start = culprit;
    exclusiveStart = true;
  }
}
