import { createHash } from 'node:crypto';
import type { Connector, ConnectorRequest, ConnectorState } from '../connector.js';
import { canonicalJson } from '../../audit/index.js';

/**
 * Simulation mode (seed 000 §10.2): no external call; the action is recorded (the newest
 * `keep`) and answered with a result that depends only on the action, so a replay of the
 * same action answers the same.
 *
 * @example
 * const sim = new SimulationConnector(100);
 * await sim.execute({ action_id: 'a1', action_type: 'write_data', target_system: 'crm', primary_plane_id: 'p' });
 * sim.recorded().length === 1;
 */
export class SimulationConnector implements Connector {
  readonly type = 'simulation' as const;
  private readonly log: ConnectorRequest[] = [];

  constructor(private readonly keep: number) {}

  async execute(req: ConnectorRequest): Promise<unknown> {
    if (this.keep > 0) {
      this.log.push(req);
      if (this.log.length > this.keep) this.log.splice(0, this.log.length - this.keep);
    }
    const { action_id: _id, correlation_id: _c, ...what } = req;
    const digest = createHash('sha256').update(canonicalJson(what)).digest('hex');
    return {
      simulated: true,
      plane_id: req.primary_plane_id,
      action_type: req.action_type,
      target_system: req.target_system,
      ...(req.entity_id !== undefined ? { entity_id: req.entity_id } : {}),
      result_id: `sim-${digest.slice(0, 16)}`,
    };
  }

  /** The actions it was given, oldest first. */
  recorded(): readonly ConnectorRequest[] {
    return this.log;
  }

  state(): ConnectorState {
    return { health: 'healthy', breaker: null };
  }

  describe(): Record<string, unknown> {
    return { type: 'simulation', recorded: this.log.length };
  }
}
