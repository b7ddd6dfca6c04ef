import type { RunRequest } from '../actors/agent/index.js';
import {
  fromWireToolChoice, fromWireTools, type ResponseFormat, type WireTool, type WireToolChoice,
} from '../protocol/openai.js';

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
  const hasTools = w.tools !== undefined && w.tools.length > 0;
  const params = {
    ...(w.temperature != null ? { temperature: w.temperature } : {}),
    ...(w.max_tokens != null ? { maxTokens: w.max_tokens } : {}),
    ...(w.stop != null ? { stop: w.stop } : {}),
    ...(w.seed != null ? { seed: w.seed } : {}),
    ...(w.response_format ? { responseFormat: w.response_format } : {}),
  };
  return {
    ...(hasTools ? { clientTools: fromWireTools(w.tools!) } : {}),
    ...(hasTools && w.tool_choice !== undefined ? { toolChoice: fromWireToolChoice(w.tool_choice) } : {}),
    ...(Object.keys(params).length > 0 ? { params } : {}),
  };
}
