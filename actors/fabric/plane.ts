import type { Logger } from 'pino';
import { z } from 'zod';
import { TroupeError, serializeError } from '../../protocol/index.js';
import { behaviour, type ActorSpec } from '../kernel/index.js';
import type { Connector, ConnectorRequest, ConnectorState } from './connector.js';
import { HttpConnector } from './connectors/http.js';
import { SimulationConnector } from './connectors/simulation.js';
import type { PlaneConfig } from './options.js';

/** A plane as `GET /api/v1/fabric/planes` shows it. */
export interface PlaneView extends ConnectorState {
  id: string;
  kind: string;
  vendor?: string;
  systems: string[];
  connector: Record<string, unknown>;
  in_flight: number;
  stats: { executed: number; failed: number; last_error_code?: string };
}

/** The plane actor's one message: run an action through the connector (ask). */
const planeMessageSchema = z.object({ type: z.literal('fabric.execute'), request: z.custom<ConnectorRequest>((v) => typeof v === 'object' && v !== null) });
type PlaneMessage = z.infer<typeof planeMessageSchema>;

/**
 * One fabric plane: its config, its connector (the breaker lives here, so it outlives a
 * restart of the plane's actor), its counters and a bound on actions in flight.
 */
export class Plane {
  readonly connector: Connector;
  private inFlight = 0;
  private readonly stats: PlaneView['stats'] = { executed: 0, failed: 0 };

  constructor(readonly config: PlaneConfig, private readonly maxInFlight: number, log: Logger) {
    const c = config.connector;
    this.connector = c.type === 'http' ? new HttpConnector(c, log.child({ plane: config.id })) : new SimulationConnector(c.keep);
  }

  /** Longest an action can take on this plane: every attempt timing out, with the longest backoffs. */
  get maxDurationMs(): number {
    const c = this.config.connector;
    if (c.type !== 'http') return 5_000;
    return (c.retries + 1) * c.timeoutMs + c.retries * c.retryMaxMs + 5_000;
  }

  async run(req: ConnectorRequest): Promise<unknown> {
    if (this.inFlight >= this.maxInFlight) throw new TroupeError('TROUPE_ERR_FABRIC_BUSY', `plane ${this.config.id} has ${this.maxInFlight} actions in flight`);
    this.inFlight++;
    try {
      const r = await this.connector.execute(req);
      this.stats.executed++;
      return r;
    } catch (e) {
      this.stats.failed++;
      const code = serializeError(e).code;
      if (code) this.stats.last_error_code = code;
      throw e;
    } finally {
      this.inFlight--;
    }
  }

  view(): PlaneView {
    return {
      id: this.config.id,
      kind: this.config.kind,
      ...(this.config.vendor !== undefined ? { vendor: this.config.vendor } : {}),
      systems: [...this.config.systems],
      connector: this.connector.describe(),
      ...this.connector.state(),
      in_flight: this.inFlight,
      stats: { ...this.stats },
    };
  }
}

/**
 * The plane's actor (`/system/fabric-<id>`): actions reach the plane as `fabric.execute`
 * asks; each runs outside the turn (its reply goes when the connector answers), so one slow
 * call never holds the mailbox, and the plane's in-flight bound applies.
 */
export function planeActorSpec(plane: Plane): ActorSpec {
  return {
    name: `fabric-${plane.config.id}`,
    behaviour: behaviour<undefined, PlaneMessage, unknown>({
      messages: planeMessageSchema,
      receive: (_s, m, ctx) => {
        const r = ctx.replier();
        plane.run(m.request).then((v) => r.reply(v), (e: unknown) => r.error(e));
      },
    }),
  };
}
