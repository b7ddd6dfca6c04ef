import { LmdbInboxStore, LmdbJournal, MemoryInboxStore, MemoryJournal } from '../../storage/index.js';
import { journalContract } from './journal-contract.js';
import { StoreFixture } from './helpers.js';

journalContract('LmdbJournal', async () => {
  const f = await StoreFixture.create({ noSync: true });
  return {
    journal: new LmdbJournal(f.store),
    inbox: new LmdbInboxStore(f.store),
    putRaw: (db, key, seq, value) => f.store.put(db === 'journal' ? f.store.journal : f.store.snapshots, [key, seq], value),
    close: () => f.store.close(),
    reopen: async () => new LmdbJournal(await f.reopen()),
    dispose: () => f.dispose(),
  };
}, { durable: true });

journalContract('MemoryJournal (not durable)', async () => {
  const inbox = new MemoryInboxStore();
  const journal = new MemoryJournal({ inbox });
  return {
    journal,
    inbox,
    putRaw: async (db, key, seq, value) => journal.putRaw(db, key, seq, value),
    close: () => journal.close(),
    dispose: () => journal.close(),
  };
}, { durable: false });
