import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { TroupeError } from '../protocol/index.js';
import type { StoreLogger } from './logger.js';

/** File name of the data dir lock, next to the LMDB files. */
export const LOCK_FILE = 'troupe.lock';

/** What a lock file holds. */
interface LockInfo {
  pid: number;
  token: string;
  hostname: string;
  at: number;
}

// Tokens of locks held by this process. A lock file with our pid but an unknown token was
// left by an earlier process that had the same pid (pid 1 in a restarted container).
const heldTokens = new Set<string>();

/**
 * An exclusive hold on a data dir. LMDB happily lets several processes share one
 * environment, but two troupe nodes journaling to one dir would interleave sequence numbers,
 * so the node takes this lock first.
 *
 * @example
 * const lock = DirLock.acquire(dir, logger);
 * try { ... } finally { lock.release(); }
 */
export class DirLock {
  private released = false;

  private constructor(
    /** Path of the lock file. */
    readonly path: string,
    private readonly token: string,
  ) {}

  /**
   * Take the lock on `dir` (created if missing). Throws TROUPE_ERR_STORAGE_LOCKED while a
   * live process holds it; a lock whose process is gone is stale and is taken over.
   */
  static acquire(dir: string, logger: StoreLogger): DirLock {
    fs.mkdirSync(dir, { recursive: true });
    const path = join(dir, LOCK_FILE);
    const info: LockInfo = { pid: process.pid, token: randomBytes(12).toString('hex'), hostname: hostname(), at: Date.now() };
    const body = JSON.stringify(info);
    // Written whole to a private file first, then linked into place: link(2) fails with
    // EEXIST exactly like O_EXCL, and nobody can ever read a half-written lock.
    const tmp = `${path}.${info.token}`;
    fs.writeFileSync(tmp, body, { flag: 'wx' });
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          fs.linkSync(tmp, path);
          heldTokens.add(info.token);
          return new DirLock(path, info.token);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        }
        const holder = readLock(path);
        if (holder === 'missing') continue; // released between our link and our read
        const verdict = judge(holder);
        if (verdict.live) {
          throw new TroupeError('TROUPE_ERR_STORAGE_LOCKED', `data dir ${dir} is locked by ${verdict.who}`, {
            details: { dir, pid: holder === 'unreadable' ? undefined : holder.pid },
          });
        }
        // Stale: replace it atomically. Two processes taking over the same stale lock at
        // the same instant can both get here; the read-back below catches all but the
        // narrowest interleaving of that race, which only follows a crash.
        fs.copyFileSync(tmp, `${tmp}.takeover`);
        fs.renameSync(`${tmp}.takeover`, path);
        const now = readLock(path);
        if (now === 'missing' || now === 'unreadable' || now.token !== info.token) continue;
        logger.warn({ dir, stale: holder === 'unreadable' ? 'unreadable' : { pid: holder.pid, hostname: holder.hostname, at: holder.at } },
          `took over a stale data dir lock left by ${verdict.who}`);
        heldTokens.add(info.token);
        return new DirLock(path, info.token);
      }
      throw new TroupeError('TROUPE_ERR_STORAGE_LOCKED', `data dir ${dir}: could not take the lock (contended)`, { details: { dir } });
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }

  /** Remove the lock file if it is still ours. Safe to call twice. */
  release(): void {
    if (this.released) return;
    this.released = true;
    heldTokens.delete(this.token);
    const now = readLock(this.path);
    if (now !== 'missing' && now !== 'unreadable' && now.token === this.token) fs.rmSync(this.path, { force: true });
  }
}

function readLock(path: string): LockInfo | 'missing' | 'unreadable' {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw e;
  }
  try {
    const v = JSON.parse(text) as Partial<LockInfo>;
    if (typeof v.pid === 'number' && typeof v.token === 'string' && typeof v.hostname === 'string') {
      return { pid: v.pid, token: v.token, hostname: v.hostname, at: typeof v.at === 'number' ? v.at : 0 };
    }
  } catch {
    // fall through: not ours to interpret
  }
  return 'unreadable';
}

function judge(holder: LockInfo | 'unreadable'): { live: boolean; who: string } {
  // Locks are only ever written whole (see acquire), so garbage is not a lock in progress.
  if (holder === 'unreadable') return { live: false, who: 'an unreadable lock file' };
  const who = `pid ${holder.pid} on ${holder.hostname}`;
  // We cannot probe a pid on another host: refuse rather than risk two writers.
  if (holder.hostname !== hostname()) return { live: true, who: `${who} (another host; remove the lock file if that node is gone)` };
  if (holder.pid === process.pid) return { live: heldTokens.has(holder.token), who: `${who} (this process)` };
  return { live: pidAlive(holder.pid), who };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
