/** What a plane hands its connector for one action. */
export interface ConnectorRequest {
  action_id: string;
  action_type: string;
  target_system: string;
  entity_id?: string;
  data?: unknown;
  primary_plane_id: string;
  correlation_id?: string;
}

/** A connector's health as `GET /api/v1/fabric/planes` shows it. */
export interface ConnectorState {
  health: 'healthy' | 'degraded' | 'unhealthy';
  /** The circuit breaker's state; null for a connector without one. */
  breaker: 'closed' | 'open' | 'half_open' | 'isolated' | null;
}

/**
 * How a plane reaches its systems. Implementations: {@link HttpConnector} (a real request
 * behind retries, a timeout and a circuit breaker) and {@link SimulationConnector} (no
 * external call, a deterministic answer). Errors are coded TroupeErrors.
 */
export interface Connector {
  readonly type: 'http' | 'simulation';
  execute(req: ConnectorRequest, signal?: AbortSignal): Promise<unknown>;
  state(): ConnectorState;
  /** What may be shown about it (no secrets). */
  describe(): Record<string, unknown>;
}
