import { fireId, type JobCalendar } from './calendar.js';
import type { OverlapPolicy } from './job-spec.js';
import { MAX_BUFFERED, recordFire, type JobState } from './job-state.js';

/** Nominal times one wake decides at most (the rest on the next, at once). */
export const MAX_FIRES_PER_WAKE = 1_000;

/**
 * The pure part of a wake: decide every nominal time in (cursor, now] whose jittered time
 * has come. Times older than the catch-up window are missed; with catch-up `latest` only the
 * newest of the rest fires; each firing time goes through the overlap policy. Mutates `s`.
 * True when more times remain to decide (the cap was hit).
 */
export function decideDue(s: JobState, now: number, cal: JobCalendar): boolean {
  if (s.status !== 'scheduled') return false;
  const times = cal.between(s.cursor, now, MAX_FIRES_PER_WAKE);
  const due: number[] = [];
  for (const t of times) {
    if (t + cal.jitterOf(t) > now) break;
    due.push(t);
  }
  if (due.length === 0) return false;
  s.cursor = due[due.length - 1]!;
  const p = s.def.policy;
  let firing = due.filter((t) => {
    if (now - t <= p.catchupWindowMs) return true;
    miss(s, t, now);
    return false;
  });
  if (p.catchup === 'latest' && firing.length > 1) {
    for (const t of firing.slice(0, -1)) miss(s, t, now);
    firing = firing.slice(-1);
  }
  for (const t of firing) admit(s, t, now, p.overlap);
  finishIfDone(s, cal);
  return times.length === MAX_FIRES_PER_WAKE;
}

function miss(s: JobState, t: number, now: number): void {
  s.counters.missed++;
  recordFire(s, { fire_id: fireId(s.def.id, t), nominal: t, at: now, outcome: 'missed' });
}

function busy(s: JobState): boolean {
  return s.running.length > 0 || s.pending.length > 0;
}

function runsLeft(s: JobState): boolean {
  return s.def.maxRuns === undefined || s.runCount < s.def.maxRuns;
}

/** Apply the overlap policy to one firing time (also trigger-now and backfill). */
export function admit(s: JobState, t: number, now: number, overlap: OverlapPolicy): void {
  if (!runsLeft(s)) return;
  if (!busy(s) || overlap === 'allow-all') return start(s, t, now);
  const id = fireId(s.def.id, t);
  switch (overlap) {
    case 'skip':
      s.counters.skipped++;
      recordFire(s, { fire_id: id, nominal: t, at: now, outcome: 'skipped' });
      return;
    case 'buffer-one':
    case 'buffer-all': {
      const cap = overlap === 'buffer-one' ? 1 : MAX_BUFFERED;
      if (s.buffered.length < cap) s.buffered.push(t);
      else {
        s.counters.dropped++;
        recordFire(s, { fire_id: id, nominal: t, at: now, outcome: 'dropped' });
      }
      return;
    }
    case 'cancel-other':
      for (const r of s.running) r.cancel = true;
      return start(s, t, now);
  }
}

function start(s: JobState, t: number, now: number): void {
  const id = fireId(s.def.id, t);
  if (s.pending.some((p) => p.fireId === id) || s.running.some((r) => r.fireId === id)) return;
  s.pending.push({ fireId: id, nominal: t, attempts: 0 });
  s.runCount++;
  s.counters.fired++;
  s.lastRunAt = now;
  recordFire(s, { fire_id: id, nominal: t, at: now, outcome: 'pending' });
}

/** A running fire's task ended: count it, pause on failure, start a buffered fire. */
export function settle(s: JobState, taskId: string, status: 'completed' | 'failed' | 'cancelled', now: number, cal: JobCalendar): boolean {
  const i = s.running.findIndex((r) => r.taskId === taskId);
  if (i < 0) return false;
  const r = s.running[i]!;
  s.running.splice(i, 1);
  recordFire(s, { fire_id: r.fireId, nominal: r.nominal, at: now, outcome: status, task_id: taskId });
  if (status === 'completed') s.counters.succeeded++;
  if (status === 'failed') {
    s.counters.failed++;
    if (s.def.policy.pauseOnFailure && s.status === 'scheduled') {
      s.status = 'paused';
      s.pauseNote = `paused on failure of ${r.fireId}`;
    }
  }
  if (!busy(s) && s.buffered.length > 0 && s.status !== 'paused') start(s, s.buffered.shift()!, now);
  finishIfDone(s, cal);
  return true;
}

/** A job with no run left, or no nominal time left, and nothing in flight is completed. */
export function finishIfDone(s: JobState, cal: JobCalendar): void {
  if (s.status === 'paused') return;
  const noMore = !runsLeft(s) || cal.nextAfter(s.cursor) === undefined;
  if (noMore && s.buffered.length === 0) {
    s.buffered = [];
    if (s.pending.length === 0 && s.running.length === 0) s.status = 'completed';
  }
}

/**
 * Resume a paused job: the times that fell while it was paused are skipped (no catch-up
 * over a pause, as Temporal does); the cursor moves to now.
 */
export function resume(s: JobState, now: number, cal: JobCalendar): void {
  if (s.status !== 'paused') return;
  const passed = cal.between(s.cursor, now, MAX_FIRES_PER_WAKE);
  s.counters.skipped += passed.length;
  s.cursor = Math.max(s.cursor, now);
  s.status = 'scheduled';
  delete s.pauseNote;
  finishIfDone(s, cal);
}
