/** Drill definitions: kinds, the request, the report and the steady-state hypothesis. */
export {
  DRILL_KINDS, UPSTREAM_DRILL_FAULTS, NODE_DRILL_KINDS, MAX_DRILL_DURATION_MS, MAX_DRILL_MESSAGES, MAX_SLOW_CLIENT_BYTES, drillRequestSchema, drillReportSchema, probeResultSchema, hypothesisOf, verdictOf,
  type DrillKind, type DrillRequest, type DrillRequestInput, type DrillReport, type ProbeResult,
} from './definition.js';
