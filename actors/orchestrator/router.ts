import { Counter, Registry } from 'prom-client';
import type { Logger } from 'pino';

/** What the router decides on: a chat request for the orchestrator's model. */
export interface RouteInput {
  /** The request carries `tools` or `response_format` (the client drives the model itself). */
  hasTools: boolean;
  hasResponseFormat: boolean;
  /** `X-Skip-Orchestration` and `X-Orchestrate` header values, as sent. */
  skipHeader?: string | undefined;
  forceHeader?: string | undefined;
  /** The request resumes a session (`x-session-id`). */
  sessionId?: string | undefined;
  /** The last user message's text. */
  text: string;
}

/** `simple`: straight to the model as today; `complex`: a planned workflow. */
export interface RouteDecision {
  route: 'simple' | 'complex';
  reason: string;
}

/** A classifier of requests that no rule decided. */
export type Classifier = (text: string) => RouteDecision | Promise<RouteDecision>;

const STEP_WORDS = /\b(then|after that|afterwards|finally|step by step|first|second|next)\b/gi;
const ACTIONS = /\b(research|search|find|compare|analy[sz]e|summari[sz]e|write|draft|review|plan|calculate|translate|collect|gather|report|verify|check|investigate|evaluate|publish|send)\b/gi;
/** Longer requests than this count as complex. */
const LONG_CHARS = 600;

const truthy = (v: string | undefined): boolean => v !== undefined && /^(1|true|yes)$/i.test(v.trim());

/**
 * The deterministic offline classifier: complex when the request reads as several steps
 * (sequence words with two or more actions, a numbered list of two or more items, three or
 * more distinct actions) or is long; simple otherwise.
 *
 * @example
 * classifyHeuristic('What is 6 * 7?'); // { route: 'simple', reason: 'heuristic:single-step' }
 */
export function classifyHeuristic(text: string): RouteDecision {
  const actions = new Set((text.match(ACTIONS) ?? []).map((a) => a.toLowerCase()));
  const steps = (text.match(STEP_WORDS) ?? []).length;
  const listed = (text.match(/^\s*(\d+[.)]|[-*])\s+\S/gm) ?? []).length;
  if (listed >= 2) return { route: 'complex', reason: 'heuristic:numbered-steps' };
  if (steps >= 1 && actions.size >= 2) return { route: 'complex', reason: 'heuristic:multi-step' };
  if (actions.size >= 3) return { route: 'complex', reason: 'heuristic:many-actions' };
  if (text.length > LONG_CHARS) return { route: 'complex', reason: 'heuristic:long' };
  return { route: 'simple', reason: 'heuristic:single-step' };
}

/**
 * Route a chat request for the orchestrator's model: passthrough rules first (`tools`,
 * `response_format`), then the headers (`X-Skip-Orchestration: true` forces simple,
 * `X-Orchestrate: true` complex), a session to resume, then the classifier.
 */
export async function decideRoute(input: RouteInput, classify: Classifier = classifyHeuristic): Promise<RouteDecision> {
  if (truthy(input.skipHeader)) return { route: 'simple', reason: 'header:x-skip-orchestration' };
  if (truthy(input.forceHeader)) return { route: 'complex', reason: 'header:x-orchestrate' };
  if (input.hasTools) return { route: 'simple', reason: 'passthrough:tools' };
  if (input.hasResponseFormat) return { route: 'simple', reason: 'passthrough:response_format' };
  if (input.sessionId !== undefined) return { route: 'complex', reason: 'session:resume' };
  return classify(input.text);
}

/** The router with its log line and metric per decision. */
export class ChatRouter {
  readonly registry = new Registry();
  private readonly decisions: Counter<'route' | 'reason'>;

  constructor(nodeId: string, private readonly log: Logger, private readonly classify: Classifier = classifyHeuristic) {
    this.registry.setDefaultLabels({ node: nodeId });
    this.decisions = new Counter({ name: 'troupe_orchestrator_routes_total', help: 'Chat requests for the orchestrator model by route (simple, complex) and reason', labelNames: ['route', 'reason'], registers: [this.registry] });
  }

  async route(input: RouteInput): Promise<RouteDecision> {
    const d = await decideRoute(input, this.classify);
    // a model's free-text reason would make a label per request: counted as `model`
    this.decisions.inc({ route: d.route, reason: d.reason.startsWith('model:') ? 'model' : d.reason });
    this.log.info({ route: d.route, reason: d.reason }, 'chat request routed');
    return d;
  }
}
