import type { ChatMessage, ToolCall, ToolChoice, ToolSpec } from './model-contract.js';
import type { WireMessage, WireTool, WireToolChoice } from './openai.js';

/** Conversions between the OpenAI wire format and troupe's model-call contract. */

/** Tool calls in the OpenAI wire shape: `{ id, type: 'function', function: { name, arguments } }`. */
export function toWireToolCalls(calls: ReadonlyArray<ToolCall>): Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }> {
  return calls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } }));
}

function joinText(content: string | ReadonlyArray<{ type: string; text?: unknown }>): string {
  if (typeof content === 'string') return content;
  return content.map((p) => (p.type === 'text' && typeof p.text === 'string' ? p.text : '')).join('');
}

/**
 * Wire messages (a validated request's `messages`) to troupe's messages.
 *
 * @example
 * const messages = fromWireMessages(chatCompletionRequestSchema.parse(body).messages);
 */
export function fromWireMessages(messages: ReadonlyArray<WireMessage>): ChatMessage[] {
  return messages.map((m): ChatMessage => {
    switch (m.role) {
      case 'system':
      case 'developer':
        return { role: m.role, content: joinText(m.content), ...(m.name ? { name: m.name } : {}) };
      case 'user':
        return { role: 'user', content: m.content, ...(m.name ? { name: m.name } : {}) };
      case 'assistant': {
        const parts = Array.isArray(m.content) ? m.content : undefined;
        const refusal = m.refusal ?? parts?.flatMap((p) => (p.type === 'refusal' ? [p.refusal] : [])).join('');
        return {
          role: 'assistant',
          content: m.content == null ? null : joinText(m.content),
          ...(m.name ? { name: m.name } : {}),
          ...(refusal ? { refusal } : {}),
          ...(m.tool_calls && m.tool_calls.length > 0
            ? { toolCalls: m.tool_calls.map((c) => ({ id: c.id, name: c.function.name, arguments: c.function.arguments })) }
            : {}),
        };
      }
      case 'tool':
        return { role: 'tool', content: joinText(m.content), toolCallId: m.tool_call_id };
    }
  });
}

/**
 * troupe's messages to the wire format an OpenAI-compatible upstream accepts.
 *
 * @example
 * const body = { model, messages: toWireMessages(history) };
 */
export function toWireMessages(messages: ReadonlyArray<ChatMessage>): WireMessage[] {
  return messages.map((m): WireMessage => {
    switch (m.role) {
      case 'system':
      case 'developer':
      case 'user':
        return { role: m.role, content: m.content, ...(m.name ? { name: m.name } : {}) } as WireMessage;
      case 'assistant':
        return {
          role: 'assistant',
          content: m.content,
          ...(m.name ? { name: m.name } : {}),
          ...(m.refusal ? { refusal: m.refusal } : {}),
          ...(m.toolCalls && m.toolCalls.length > 0
            ? { tool_calls: toWireToolCalls(m.toolCalls) }
            : {}),
        };
      case 'tool':
        return { role: 'tool', content: m.content, tool_call_id: m.toolCallId };
    }
  });
}

/** Wire tools to tool specs. */
export function fromWireTools(tools: ReadonlyArray<WireTool>): ToolSpec[] {
  return tools.map((t) => ({
    name: t.function.name,
    ...(t.function.description !== undefined ? { description: t.function.description } : {}),
    ...(t.function.parameters !== undefined ? { parameters: t.function.parameters } : {}),
    ...(typeof t.function.strict === 'boolean' ? { strict: t.function.strict } : {}),
  }));
}

/** Tool specs to wire tools. */
export function toWireTools(tools: ReadonlyArray<ToolSpec>): WireTool[] {
  return tools.map((t) => ({
    type: 'function' as const,
    function: {
      name: t.name,
      ...(t.description !== undefined ? { description: t.description } : {}),
      parameters: t.parameters ?? { type: 'object', properties: {} },
      ...(t.strict !== undefined ? { strict: t.strict } : {}),
    },
  }));
}

/** Wire tool choice to troupe's. */
export function fromWireToolChoice(choice: WireToolChoice): ToolChoice {
  return typeof choice === 'string' ? choice : { name: choice.function.name };
}

/** troupe's tool choice to the wire. */
export function toWireToolChoice(choice: ToolChoice): WireToolChoice {
  return typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } };
}
