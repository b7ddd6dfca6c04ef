import type { RunParams, RunRequest } from '../actors/index.js';
import {
  fromWireToolChoice, fromWireTools, type ResponseFormat, type WireTool, type WireToolChoice,
} from '../protocol/index.js';

/** Conversation ids (`x-conversation-id`, `conversation_id`): safe in URLs and journal keys. */
export const CONVERSATION_ID_RE = /^[A-Za-z0-9._:@+-]{1,200}$/;
export const CONVERSATION_ID_RULE = 'conversation ids: 1-200 of [A-Za-z0-9._:@+-]';

/** The run knobs of a request, in the OpenAI wire format both HTTP APIs accept. */
export interface WireRunKnobs {
  tools?: WireTool[] | undefined;
  tool_choice?: WireToolChoice | undefined;
  temperature?: number | null | undefined;
  max_tokens?: number | null | undefined;
  stop?: string | string[] | null | undefined;
  seed?: number | null | undefined;
  response_format?: ResponseFormat | undefined;
}

/**
 * The part of a run request the wire knobs decide: the caller's tools, the tool choice
 * (only with tools) and the model parameters, each present only when set.
 *
 * @example
 * runKnobsFromWire({ temperature: 0.2, tools: [weatherTool] });
 * // { clientTools: [{ name: 'get_weather', ... }], params: { temperature: 0.2 } }
 */
export function runKnobsFromWire(w: WireRunKnobs): Pick<RunRequest, 'clientTools' | 'toolChoice' | 'params'> {
  const out: Pick<RunRequest, 'clientTools' | 'toolChoice' | 'params'> = {};
  if (w.tools !== undefined && w.tools.length > 0) {
    out.clientTools = fromWireTools(w.tools);
    if (w.tool_choice !== undefined) out.toolChoice = fromWireToolChoice(w.tool_choice);
  }
  let params: RunParams | undefined;
  if (w.temperature != null) (params ??= {}).temperature = w.temperature;
  if (w.max_tokens != null) (params ??= {}).maxTokens = w.max_tokens;
  if (w.stop != null) (params ??= {}).stop = w.stop;
  if (w.seed != null) (params ??= {}).seed = w.seed;
  if (w.response_format) (params ??= {}).responseFormat = w.response_format;
  if (params !== undefined) out.params = params;
  return out;
}
