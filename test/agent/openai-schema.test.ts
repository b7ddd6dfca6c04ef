import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  chatCompletionRequestSchema,
  chatMessageSchema,
  formatParamPath,
  fromWireMessages,
  toWireMessages,
  wireMessageSchema,
  zodErrorToOpenAIParam,
  type ChatMessage,
} from '../../protocol/index.js';

const toolName = fc.stringMatching(/^[a-zA-Z0-9_-]{1,64}$/);
const text = fc.string({ maxLength: 40 });
const textPart = fc.record({ type: fc.constant('text' as const), text });
const imagePart = fc.record(
  { type: fc.constant('image_url' as const), image_url: fc.record({ url: fc.webUrl(), detail: fc.constantFrom('auto', 'low', 'high') }, { requiredKeys: ['url'] }) },
);
const audioPart = fc.record({ type: fc.constant('input_audio' as const), input_audio: fc.record({ data: fc.base64String({ maxLength: 16 }), format: fc.constantFrom('wav', 'mp3') }) });
const filePart = fc.record(
  { type: fc.constant('file' as const), file: fc.record({ file_id: text, filename: text, file_data: fc.base64String({ maxLength: 16 }) }, { requiredKeys: [] }) },
);
const textContent = fc.oneof(text, fc.array(textPart, { minLength: 1, maxLength: 3 }));
const wireToolCall = fc.record({ id: text, type: fc.constant('function' as const), function: fc.record({ name: toolName, arguments: fc.json() }) });

const message = fc.oneof(
  fc.record({ role: fc.constantFrom('system' as const, 'developer' as const), content: textContent, name: text }, { requiredKeys: ['role', 'content'] }),
  fc.record(
    { role: fc.constant('user' as const), content: fc.oneof(text, fc.array(fc.oneof(textPart, imagePart, audioPart, filePart), { minLength: 1, maxLength: 4 })), name: text },
    { requiredKeys: ['role', 'content'] },
  ),
  fc.record(
    {
      role: fc.constant('assistant' as const),
      content: fc.oneof(text, fc.constant(null), fc.array(fc.oneof(textPart, fc.record({ type: fc.constant('refusal' as const), refusal: text })), { maxLength: 2 })),
      refusal: fc.option(text),
      tool_calls: fc.array(wireToolCall, { maxLength: 3 }),
      name: text,
    },
    { requiredKeys: ['role'] },
  ),
  fc.record({ role: fc.constant('tool' as const), content: textContent, tool_call_id: text }),
);

const tool = fc.record(
  {
    type: fc.constant('function' as const),
    function: fc.record(
      {
        name: toolName,
        description: text,
        parameters: fc.constant({ type: 'object', properties: { x: { type: 'string' } }, required: ['x'] }),
        strict: fc.option(fc.boolean()),
      },
      { requiredKeys: ['name'] },
    ),
  },
);

const request = fc.record(
  {
    model: fc.string({ minLength: 1, maxLength: 40 }),
    messages: fc.array(message, { minLength: 1, maxLength: 6 }),
    stream: fc.boolean(),
    stream_options: fc.record({ include_usage: fc.boolean() }),
    temperature: fc.option(fc.double({ min: 0, max: 2, noNaN: true })),
    top_p: fc.double({ min: 0, max: 1, noNaN: true }),
    max_tokens: fc.integer({ min: 1, max: 100_000 }),
    max_completion_tokens: fc.option(fc.integer({ min: 1, max: 100_000 })),
    stop: fc.option(fc.oneof(text, fc.array(text, { maxLength: 4 }))),
    n: fc.integer({ min: 1, max: 8 }),
    seed: fc.integer(),
    tools: fc.array(tool, { maxLength: 4 }),
    tool_choice: fc.oneof(fc.constantFrom('none', 'auto', 'required'), fc.record({ type: fc.constant('function'), function: fc.record({ name: toolName }) })),
    parallel_tool_calls: fc.boolean(),
    response_format: fc.oneof(
      fc.constant({ type: 'text' }),
      fc.constant({ type: 'json_object' }),
      fc.record({ type: fc.constant('json_schema'), json_schema: fc.record({ name: toolName, schema: fc.constant({ type: 'object' }), strict: fc.boolean() }) }),
    ),
    user: text,
    metadata: fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), text, { maxKeys: 4 }),
    presence_penalty: fc.double({ min: -2, max: 2, noNaN: true }),
    frequency_penalty: fc.double({ min: -2, max: 2, noNaN: true }),
    logit_bias: fc.dictionary(fc.stringMatching(/^[0-9]{1,6}$/), fc.integer({ min: -100, max: 100 }), { maxKeys: 3 }),
    logprobs: fc.boolean(),
    top_logprobs: fc.integer({ min: 0, max: 20 }),
    reasoning_effort: fc.constantFrom('minimal', 'low', 'medium', 'high'),
    service_tier: fc.constantFrom('auto', 'default', 'flex'),
    some_future_field: fc.anything(),
  },
  { requiredKeys: ['model', 'messages'] },
);

describe('chatCompletionRequestSchema', () => {
  it('accepts every valid request, keeping unknown fields', () => {
    fc.assert(
      fc.property(request, (req) => {
        const r = chatCompletionRequestSchema.safeParse(req);
        if (!r.success) throw new Error(`rejected: ${JSON.stringify(zodErrorToOpenAIParam(r.error))}`);
        if ('some_future_field' in req) expect('some_future_field' in r.data).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  // Each mutation breaks one field and names the param the error must point at.
  const mutation = fc.oneof(
    fc.constant({ apply: (r: any) => void (r.model = 42), param: 'model' }),
    fc.constant({ apply: (r: any) => void (r.messages = []), param: 'messages' }),
    fc.constant({ apply: (r: any) => void (r.temperature = 3), param: 'temperature' }),
    fc.constant({ apply: (r: any) => void (r.stop = ['a', 'b', 'c', 'd', 'e']), param: 'stop' }),
    fc.constant({ apply: (r: any) => void (r.tool_choice = 'sometimes'), param: 'tool_choice' }),
    fc.constant({ apply: (r: any) => void (r.tools = [{ type: 'function', function: { name: 'has space' } }]), param: 'tools[0].function.name' }),
    fc.constant({ apply: (r: any) => void (r.response_format = { type: 'yaml' }), param: 'response_format.type' }),
    fc.constant({ apply: (r: any) => void (r.messages[0] = { role: 'wizard', content: 'hi' }), param: 'messages[0].role' }),
    fc.constant({ apply: (r: any) => void (r.messages[0] = { role: 'user', content: 7 }), param: 'messages[0].content' }),
    fc.constant({ apply: (r: any) => void (r.messages[0] = { role: 'user', content: [{ type: 'text', text: 1 }] }), param: 'messages[0].content[0].text' }),
    fc.constant({ apply: (r: any) => void (r.messages[0] = { role: 'tool', content: 'x' }), param: 'messages[0].tool_call_id' }),
    fc.constant({ apply: (r: any) => void (r.messages[0] = { role: 'user', content: [{ type: 'image_url', image_url: {} }] }), param: 'messages[0].content[0].image_url.url' }),
  );

  it('names the offending field as an OpenAI param path for invalid requests', () => {
    fc.assert(
      fc.property(request, mutation, (req, m) => {
        const broken = structuredClone({ ...req, some_future_field: undefined });
        m.apply(broken);
        const r = chatCompletionRequestSchema.safeParse(broken);
        expect(r.success).toBe(false);
        if (r.success) return;
        const { message, param } = zodErrorToOpenAIParam(r.error);
        expect(typeof param).toBe('string');
        expect(param).toBe(m.param);
        expect(message).toContain(`'${m.param}'`);
      }),
      { numRuns: 200 },
    );
  });

  it('reports the whole body (param null) when it is not an object', () => {
    const r = chatCompletionRequestSchema.safeParse('nope');
    expect(r.success).toBe(false);
    if (!r.success) expect(zodErrorToOpenAIParam(r.error).param).toBeNull();
  });

  it('formats paths the way OpenAI does', () => {
    expect(formatParamPath(['messages', 0, 'content', 2, 'text'])).toBe('messages[0].content[2].text');
    expect(formatParamPath(['tools', 1, 'function', 'name'])).toBe('tools[1].function.name');
  });
});

const internalMessage: fc.Arbitrary<ChatMessage> = fc.oneof(
  fc.record({ role: fc.constantFrom('system' as const, 'developer' as const), content: text }),
  fc.record({ role: fc.constant('user' as const), content: fc.oneof(text, fc.array(fc.oneof(textPart, imagePart), { minLength: 1, maxLength: 3 })) }),
  fc.record(
    {
      role: fc.constant('assistant' as const),
      content: fc.option(text, { nil: null }),
      toolCalls: fc.array(fc.record({ id: text, name: toolName, arguments: fc.json() }), { minLength: 1, maxLength: 3 }),
    },
    { requiredKeys: ['role', 'content'] },
  ),
  fc.record({ role: fc.constant('tool' as const), content: text, toolCallId: text }),
);

describe('message conversions', () => {
  it('round-trips troupe messages through the wire format, which the schema accepts', () => {
    fc.assert(
      fc.property(fc.array(internalMessage, { minLength: 1, maxLength: 6 }), (messages) => {
        const wire = toWireMessages(messages);
        for (const w of wire) expect(wireMessageSchema.safeParse(w).success).toBe(true);
        const back = fromWireMessages(wire);
        expect(back).toEqual(messages);
        for (const m of back) expect(chatMessageSchema.safeParse(m).success).toBe(true);
      }),
    );
  });

  it('flattens text parts of system and tool messages', () => {
    expect(
      fromWireMessages([
        { role: 'system', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] },
        { role: 'tool', tool_call_id: 'c', content: [{ type: 'text', text: 'r' }] },
      ]),
    ).toEqual([
      { role: 'system', content: 'ab' },
      { role: 'tool', toolCallId: 'c', content: 'r' },
    ]);
  });
});
