/**
 * Restart intensity: at most `maxRestarts` restarts within any `withinMs` window. Past that the
 * supervisor gives up (stops its children and fails, escalating to its parent), as in OTP.
 *
 * @example
 * const i = new RestartIntensity(3, 1000);
 * i.allow(0); i.allow(10); i.allow(20); // true, true, true
 * i.allow(30); // false: a fourth restart inside one second
 */
export class RestartIntensity {
  private readonly stamps: number[] = [];

  constructor(readonly maxRestarts: number, readonly withinMs: number) {}

  /** Records a restart at `now` when it is allowed; returns whether it is. */
  allow(now: number): boolean {
    const from = now - this.withinMs;
    while (this.stamps.length > 0 && this.stamps[0]! <= from) this.stamps.shift();
    if (this.stamps.length >= this.maxRestarts) return false;
    this.stamps.push(now);
    return true;
  }
}
