/** At most this many claims per worker, however short the runs (bounds how far a later, more urgent task waits behind claimed ones). */
export const MAX_CLAIMS_PER_WORKER = 8;

/** Weight of a new sample in the running averages. */
const ALPHA = 1 / 64;
/** Weight of a run longer than the average: longer runs are believed at once (claiming far ahead of long runs makes later urgent tasks wait). */
const ALPHA_LONGER = 1 / 2;

/**
 * How many attempts the runtime claims ahead of its workers. A claim records its attempt
 * (running, attempts+1) before a worker runs it, so the commit overlaps other runs. One
 * claim per worker is enough when a run outlasts a commit; when runs are shorter than a
 * commit, a pool with one claim per worker idles for most of each commit, so it claims as
 * many per worker as it runs within one commit (a claimed task then starts within about one
 * commit, which is the wait the claim hides), up to {@link MAX_CLAIMS_PER_WORKER}.
 *
 * Both times are running averages on the node's clock (runs longer than the average count
 * at once, shorter ones slowly); until a run and a commit are measured (or on a clock that
 * does not move, as in tests) it is one per worker.
 *
 * @example
 * const ahead = new ClaimAhead();
 * ahead.commitTook(8); ahead.runTook(0.5);
 * ahead.budget(4); // 4 workers, runs 16x shorter than commits: 32
 */
export class ClaimAhead {
  private commitMs = 0;
  private runMs = -1;

  /** A task record's commit took `ms`. */
  commitTook(ms: number): void {
    this.commitMs += (ms - this.commitMs) * ALPHA;
  }

  /** An attempt ran for `ms`. */
  runTook(ms: number): void {
    this.runMs = this.runMs < 0 ? ms : this.runMs + (ms - this.runMs) * (ms > this.runMs ? ALPHA_LONGER : ALPHA);
  }

  /** Claims the runtime may hold (claimed or being recorded, not yet on a worker) with `workers` workers. */
  budget(workers: number): number {
    if (this.runMs < 0 || this.commitMs <= 0) return workers;
    const perWorker = this.runMs <= 0 ? MAX_CLAIMS_PER_WORKER : Math.min(MAX_CLAIMS_PER_WORKER, Math.max(1, Math.ceil(this.commitMs / this.runMs)));
    return workers * perWorker;
  }
}
