/** A named shutdown phase with its own time limit. */
export interface Phase {
  name: string;
  timeoutMs: number;
  run: () => Promise<void> | void;
}

/**
 * Run shutdown phases in order; a phase that overruns its timeout is abandoned (and
 * reported), so close always finishes.
 */
export async function runPhases(phases: Phase[], onError: (phase: string, e: unknown) => void): Promise<void> {
  for (const p of phases) {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        Promise.resolve().then(p.run),
        new Promise<void>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`phase ${p.name} timed out after ${p.timeoutMs}ms`)), p.timeoutMs);
        }),
      ]);
    } catch (e) {
      onError(p.name, e);
    } finally {
      if (timer) clearTimeout(timer);
    }
  }
}

/** Idempotent close: concurrent and repeated calls share one promise. */
export class Once {
  private promise?: Promise<void>;
  run(fn: () => Promise<void>): Promise<void> {
    return (this.promise ??= fn());
  }
}
