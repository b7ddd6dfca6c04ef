import { z } from 'zod';
import { TroupeError, type Usage } from '../../../protocol/index.js';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/**
 * An agent's token and cost budgets (spec field `budget`), each optional: past one, runs are
 * refused with 429 TROUPE_ERR_AGENT_BUDGET_EXCEEDED until its window (a clock minute, a UTC
 * day on the clock) rolls over.
 */
export const agentBudgetSchema = z.strictObject({
  tokensPerMinute: z.number().int().positive().max(1e12).optional(),
  tokensPerDay: z.number().int().positive().max(1e13).optional(),
  /** Spend per day, in the currency of `pricing`. */
  costPerDay: z.number().positive().max(1e9).optional(),
  /** Price per million tokens, needed for `costPerDay`. */
  pricing: z.strictObject({
    promptPerMillion: z.number().nonnegative().max(1e6),
    completionPerMillion: z.number().nonnegative().max(1e6),
  }).optional(),
}).refine((b) => b.costPerDay === undefined || b.pricing !== undefined, { message: 'costPerDay needs pricing', path: ['pricing'] });
export type AgentBudget = z.output<typeof agentBudgetSchema>;

/** Usage in the current windows, for GET /api/v1/agents/:name and /metrics. */
export interface BudgetUsage {
  minute: { tokens: number; limit?: number; resetsAt: number };
  day: { tokens: number; cost: number; tokenLimit?: number; costLimit?: number; resetsAt: number };
}

const NO_MINUTE = Object.freeze({ window: Number.NaN, tokens: 0 });
const NO_DAY = Object.freeze({ window: Number.NaN, tokens: 0, cost: 0 });

/**
 * Fixed windows on the injected clock: usage counts model calls' tokens as they finish; a run
 * is admitted while every window is under its limit (a run in flight may finish past it: it
 * was admitted, and its answer is not thrown away).
 *
 * @example
 * const b = new TokenBudget({ tokensPerMinute: 1000 });
 * b.record({ prompt_tokens: 600, completion_tokens: 500, total_tokens: 1100 }, clock.now());
 * b.refusal(clock.now()); // TROUPE_ERR_AGENT_BUDGET_EXCEEDED until the minute rolls over
 */
export class TokenBudget {
  // Until the first roll, the shared empty windows of no time (NaN is no window, so the first
  // roll replaces them before anything is counted): an agent never run holds none of its own.
  private minute: { window: number; tokens: number } = NO_MINUTE;
  private day: { window: number; tokens: number; cost: number } = NO_DAY;

  constructor(private readonly budget: AgentBudget) {}

  get limited(): boolean {
    const b = this.budget;
    return b.tokensPerMinute !== undefined || b.tokensPerDay !== undefined || b.costPerDay !== undefined;
  }

  private roll(now: number): void {
    const m = Math.floor(now / MINUTE_MS);
    if (m !== this.minute.window) this.minute = { window: m, tokens: 0 };
    const d = Math.floor(now / DAY_MS);
    if (d !== this.day.window) this.day = { window: d, tokens: 0, cost: 0 };
  }

  record(usage: Usage, now: number): void {
    this.roll(now);
    this.minute.tokens += usage.total_tokens;
    this.day.tokens += usage.total_tokens;
    const p = this.budget.pricing;
    if (p) this.day.cost += (usage.prompt_tokens * p.promptPerMillion + usage.completion_tokens * p.completionPerMillion) / 1_000_000;
  }

  /** Usage in the windows of `now` (a read: nothing is rolled or allocated but the answer). */
  usage(now: number): BudgetUsage {
    const b = this.budget;
    const m = Math.floor(now / MINUTE_MS);
    const d = Math.floor(now / DAY_MS);
    const minute = m === this.minute.window ? this.minute : undefined;
    const day = d === this.day.window ? this.day : undefined;
    return {
      minute: { tokens: minute?.tokens ?? 0, ...(b.tokensPerMinute !== undefined ? { limit: b.tokensPerMinute } : {}), resetsAt: (m + 1) * MINUTE_MS },
      day: {
        tokens: day?.tokens ?? 0, cost: day?.cost ?? 0,
        ...(b.tokensPerDay !== undefined ? { tokenLimit: b.tokensPerDay } : {}),
        ...(b.costPerDay !== undefined ? { costLimit: b.costPerDay } : {}),
        resetsAt: (d + 1) * DAY_MS,
      },
    };
  }

  /** The refusal for a new run now, or undefined when every window has room. */
  refusal(agent: string, now: number): TroupeError | undefined {
    if (!this.limited) return undefined;
    this.roll(now);
    const b = this.budget;
    let what: string | undefined;
    let resetsAt = 0;
    if (b.tokensPerDay !== undefined && this.day.tokens >= b.tokensPerDay) {
      what = `${this.day.tokens} of ${b.tokensPerDay} tokens per day`;
      resetsAt = (this.day.window + 1) * DAY_MS;
    } else if (b.costPerDay !== undefined && this.day.cost >= b.costPerDay) {
      what = `${this.day.cost.toFixed(4)} of ${b.costPerDay} spend per day`;
      resetsAt = (this.day.window + 1) * DAY_MS;
    } else if (b.tokensPerMinute !== undefined && this.minute.tokens >= b.tokensPerMinute) {
      what = `${this.minute.tokens} of ${b.tokensPerMinute} tokens per minute`;
      resetsAt = (this.minute.window + 1) * MINUTE_MS;
    }
    if (what === undefined) return undefined;
    const retryAfterMs = Math.max(0, resetsAt - now);
    return new TroupeError('TROUPE_ERR_AGENT_BUDGET_EXCEEDED', `agent ${agent} used ${what}; runs are refused for ${retryAfterMs}ms, until the window resets`, {
      details: { agent, retryAfterMs },
    });
  }
}
