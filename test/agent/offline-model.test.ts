import fc from 'fast-check';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { OfflineModel, collapseSpaces, estimateTokens, splitTokens, type ModelDelta, type ModelRequest } from '../../actors/agent/model/index.js';
import { isTroupeError } from '../../protocol/index.js';

const tools = [
  { name: 'get_weather', description: 'current weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
  { name: 'add', parameters: { type: 'object' } },
];

async function run(req: ModelRequest, model = new OfflineModel()) {
  const deltas: ModelDelta[] = [];
  const result = await model.complete(req, { onDelta: (d) => deltas.push(d) });
  return { deltas, result };
}

describe('OfflineModel', () => {
  it('is offline and named troupe-offline', () => {
    const m = new OfflineModel();
    expect(m.name).toBe('troupe-offline');
    expect(m.offline).toBe(true);
  });

  it('echoes the last user message, says it is the offline model, and streams several deltas', async () => {
    const { deltas, result } = await run({
      model: 'whatever',
      messages: [
        { role: 'system', content: 'You are helpful.' },
        { role: 'user', content: 'first question' },
        { role: 'assistant', content: 'first answer' },
        { role: 'user', content: 'What is   the actor model?' },
      ],
    });
    expect(result.content).toBe('[troupe-offline] You said: What is the actor model?');
    expect(result.finishReason).toBe('stop');
    expect(result.model).toBe('troupe-offline');
    expect(result.toolCalls).toEqual([]);
    expect(deltas.length).toBeGreaterThan(2);
    expect(deltas.map((d) => (d.type === 'content' ? d.text : '')).join('')).toBe(result.content);
    expect(result.usage.completion_tokens).toBe(estimateTokens(result.content!));
    expect(result.usage.total_tokens).toBe(result.usage.prompt_tokens + result.usage.completion_tokens);
    expect(result.usage.prompt_tokens).toBeGreaterThan(0);
  });

  it('is deterministic: the same request yields identical deltas and result', async () => {
    const req: ModelRequest = { model: 'm', messages: [{ role: 'user', content: 'call add {"a": 1, "b": 2} please' }], tools };
    const a = await run(req);
    const b = await run(structuredClone(req), new OfflineModel());
    expect(b).toEqual(a);
    const c = await run({ model: 'm', messages: [{ role: 'user', content: 'hello there' }] });
    const d = await run({ model: 'm', messages: [{ role: 'user', content: 'hello there' }] });
    expect(d).toEqual(c);
  });

  it('calls a tool named with `call <tool> {json}`, streaming the arguments in pieces', async () => {
    const { deltas, result } = await run({
      model: 'm',
      messages: [{ role: 'user', content: 'Please call get_weather {"city": "Paris", "unit": "celsius"} now' }],
      tools,
    });
    expect(result.finishReason).toBe('tool_calls');
    expect(result.content).toBeNull();
    expect(result.toolCalls).toHaveLength(1);
    const [call] = result.toolCalls;
    expect(call!.name).toBe('get_weather');
    expect(JSON.parse(call!.arguments)).toEqual({ city: 'Paris', unit: 'celsius' });
    expect(call!.id).toMatch(/^call_[0-9a-f]{24}$/);
    expect(deltas[0]).toEqual({ type: 'tool_call', index: 0, id: call!.id, name: 'get_weather', argumentsDelta: '' });
    expect(deltas.length).toBeGreaterThan(2);
    expect(deltas.map((d) => (d.type === 'tool_call' ? d.argumentsDelta : '')).join('')).toBe(call!.arguments);
  });

  it('makes parallel calls for several `call` phrases', async () => {
    const { result } = await run({
      model: 'm',
      messages: [{ role: 'user', content: 'call add {"a":1,"b":2} and call get_weather {"city":"Oslo"}' }],
      tools,
    });
    expect(result.toolCalls.map((c) => [c.name, JSON.parse(c.arguments)])).toEqual([
      ['add', { a: 1, b: 2 }],
      ['get_weather', { city: 'Oslo' }],
    ]);
    expect(new Set(result.toolCalls.map((c) => c.id)).size).toBe(2);
  });

  it('takes the first JSON object after the call: the outer one, else one inside or after text that is not JSON', async () => {
    const args = async (tail: string) => (await run({ model: 'm', messages: [{ role: 'user', content: `call add ${tail}` }], tools })).result.toolCalls[0]!.arguments;
    expect(await args('{"a": {"b": 1}}')).toBe('{"a":{"b":1}}');
    expect(await args('{not json {"a": 1}} {"b": 2}')).toBe('{"a":1}');
    expect(await args('{ never closed {"a": 1}')).toBe('{"a":1}');
    expect(await args('it\'s "{" then {"a": 1}')).toBe('{"a":1}');
    expect(await args('{"s": "}{"}')).toBe('{"s":"}{"}');
  });

  it('scans adversarial braces in linear time: 200k of them answer at once, not after minutes', async () => {
    const model = new OfflineModel({ tokensPerDelta: 1_000 });
    const args = async (tail: string) =>
      (await model.complete({ model: 'm', messages: [{ role: 'user', content: `call add ${tail}` }], tools })).toolCalls[0]!.arguments;
    expect(await args('{'.repeat(200_000))).toBe('{}');
    expect(await args(`${'{'.repeat(100_000)}${'}'.repeat(100_000)} {"a": 1}`)).toBe('{"a":1}');
    expect(await args('{"a":'.repeat(50_000))).toBe('{}');
    expect(await args(`${'{x}'.repeat(100_000)} {"a": 1}`)).toBe('{}');
  });

  it('calls a tool the message merely mentions, with {} when there is no JSON', async () => {
    const { result } = await run({ model: 'm', messages: [{ role: 'user', content: 'use get_weather for me' }], tools });
    expect(result.toolCalls).toEqual([expect.objectContaining({ name: 'get_weather', arguments: '{}' })]);
  });

  it('follows toolChoice: none never calls, required and forced always call', async () => {
    const msg = [{ role: 'user' as const, content: 'call add {"a":1}' }];
    expect((await run({ model: 'm', messages: msg, tools, toolChoice: 'none' })).result.toolCalls).toEqual([]);
    const plain = [{ role: 'user' as const, content: 'no tool mentioned' }];
    expect((await run({ model: 'm', messages: plain, tools })).result.toolCalls).toEqual([]);
    expect((await run({ model: 'm', messages: plain, tools, toolChoice: 'required' })).result.toolCalls[0]!.name).toBe('get_weather');
    expect((await run({ model: 'm', messages: plain, tools, toolChoice: { name: 'add' } })).result.toolCalls[0]!.name).toBe('add');
  });

  it('answers a tool result with text that includes it, ending the tool loop', async () => {
    const first = await run({ model: 'm', messages: [{ role: 'user', content: 'call get_weather {"city":"Paris"}' }], tools });
    const call = first.result.toolCalls[0]!;
    const { result } = await run({
      model: 'm',
      messages: [
        { role: 'user', content: 'call get_weather {"city":"Paris"}' },
        { role: 'assistant', content: null, toolCalls: [call] },
        { role: 'tool', toolCallId: call.id, content: '{"temp":21,"sky":"clear"}' },
      ],
      tools,
    });
    expect(result.finishReason).toBe('stop');
    expect(result.toolCalls).toEqual([]);
    expect(result.content).toContain('get_weather returned: {"temp":21,"sky":"clear"}');
    expect(result.content).toContain('[troupe-offline]');
  });

  it('stops at maxTokens with finish reason length', async () => {
    const req: ModelRequest = { model: 'm', messages: [{ role: 'user', content: 'tell me a long story about actors and mailboxes' }], maxTokens: 5 };
    const { deltas, result } = await run(req);
    expect(result.finishReason).toBe('length');
    expect(result.usage.completion_tokens).toBe(5);
    expect(splitTokens(result.content!)).toHaveLength(5);
    expect(deltas.map((d) => (d.type === 'content' ? d.text : '')).join('')).toBe(result.content);
    const full = await run({ ...req, maxTokens: undefined });
    expect(full.result.content!.startsWith(result.content!)).toBe(true);
  });

  it('truncates tool-call arguments at maxTokens with finish reason length', async () => {
    const { result } = await run({ model: 'm', messages: [{ role: 'user', content: 'call add {"a":1234567,"b":7654321}' }], tools, maxTokens: 3 });
    expect(result.finishReason).toBe('length');
    expect(result.usage.completion_tokens).toBe(3);
  });

  it('cuts the text at the earliest stop sequence', async () => {
    const { result } = await run({ model: 'm', messages: [{ role: 'user', content: 'alpha beta gamma' }], stop: ['gamma', 'beta'] });
    expect(result.content).toBe('[troupe-offline] You said: alpha ');
    expect(result.finishReason).toBe('stop');
  });

  it('answers JSON when asked for a JSON response format', async () => {
    const { result } = await run({ model: 'm', messages: [{ role: 'user', content: 'hi' }], responseFormat: { type: 'json_object' } });
    expect(JSON.parse(result.content!)).toEqual({ model: 'troupe-offline', reply: 'You said: hi' });
  });

  describe('with a json_schema response format', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    (addFormats as unknown as (a: Ajv2020) => void)(ajv);
    const schemas: Record<string, Record<string, unknown>> = {
      plan: {
        type: 'object', additionalProperties: false, required: ['goal', 'steps'],
        properties: {
          goal: { type: 'string', minLength: 3 },
          steps: {
            type: 'array', minItems: 2, maxItems: 5,
            items: {
              type: 'object', additionalProperties: false, required: ['id', 'agent', 'dependsOn', 'priority'],
              properties: {
                id: { type: 'string', pattern: '^[a-z]+$', default: 'a' },
                agent: { enum: ['researcher', 'writer'] },
                dependsOn: { type: 'array', items: { type: 'string' } },
                priority: { type: 'integer', minimum: 1, maximum: 5 },
                due: { type: ['string', 'null'], format: 'date-time' },
              },
            },
          },
        },
      },
      refs: {
        $defs: { money: { type: 'object', required: ['amount', 'currency'], properties: { amount: { type: 'number', exclusiveMinimum: 0, multipleOf: 0.01 }, currency: { const: 'EUR' } } } },
        type: 'object', required: ['price', 'tags', 'contact'],
        properties: {
          price: { $ref: '#/$defs/money' },
          tags: { type: 'array', prefixItems: [{ type: 'string', maxLength: 4 }, { type: 'boolean' }], minItems: 2 },
          contact: { anyOf: [{ type: 'null' }, { type: 'object', required: ['email', 'id'], properties: { email: { type: 'string', format: 'email' }, id: { type: 'string', format: 'uuid' } } }] },
          ratio: { type: 'number', minimum: -3, exclusiveMaximum: -1 },
          both: { allOf: [{ type: 'object', required: ['a'], properties: { a: { type: 'integer', multipleOf: 7, minimum: 10 } } }, { required: ['b'], properties: { b: { type: 'string', minLength: 2, maxLength: 2 } } }] },
        },
      },
      tree: {
        $defs: { node: { type: 'object', required: ['name', 'children'], properties: { name: { type: 'string' }, children: { type: 'array', items: { $ref: '#/$defs/node' } } } } },
        $ref: '#/$defs/node',
      },
      scalar: { type: 'string', minLength: 1, maxLength: 8 },
    };

    for (const [name, schema] of Object.entries(schemas)) {
      it(`answers JSON that validates against the schema (${name})`, async () => {
        const { result } = await run({
          model: 'm', messages: [{ role: 'user', content: 'plan a launch' }],
          responseFormat: { type: 'json_schema', json_schema: { name, schema, strict: true } },
        });
        const value: unknown = JSON.parse(result.content!);
        const validate = ajv.compile(schema);
        expect(validate(value), JSON.stringify(validate.errors)).toBe(true);
      });
    }

    it('puts the answer in the first free string, deterministically', async () => {
      const req: ModelRequest = {
        model: 'm', messages: [{ role: 'user', content: 'hello there' }],
        responseFormat: { type: 'json_schema', json_schema: { name: 'a', schema: { type: 'object', properties: { answer: { type: 'string' }, n: { type: 'integer', minimum: 3 } }, required: ['answer', 'n'] } } },
      };
      const a = (await run(req)).result.content;
      expect(JSON.parse(a!)).toEqual({ answer: 'You said: hello there', n: 3 });
      expect((await run(req)).result.content).toBe(a);
    });
  });

  it('cancels mid-stream when the signal aborts', async () => {
    const ac = new AbortController();
    const deltas: ModelDelta[] = [];
    const e = await new OfflineModel({ tokensPerDelta: 1 })
      .complete(
        { model: 'm', messages: [{ role: 'user', content: 'one two three four five six seven' }] },
        { signal: ac.signal, onDelta: (d) => { deltas.push(d); if (deltas.length === 2) ac.abort(); } },
      )
      .catch((x: unknown) => x);
    expect(isTroupeError(e, 'TROUPE_ERR_AGENT_CANCELLED')).toBe(true);
    expect(deltas).toHaveLength(2);
  });

  it('reads text parts of multimodal user messages', async () => {
    const { result } = await run({
      model: 'm',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'describe ' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }, { type: 'text', text: 'this' }] }],
    });
    expect(result.content).toBe('[troupe-offline] You said: describe this');
  });
});

describe('token counting', () => {
  const text = fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 60 }),
    fc.array(fc.constantFrom('a', 'bcd', 'efghij', ' ', '\t', '\n', '\u00a0', '\u2003', '\u3000', '\ufeff', '\u2028', '😀', 'é', '\u200b'), { maxLength: 30 }).map((p) => p.join('')),
  );

  it('estimateTokens counts exactly the pieces of the tokenizer regex, without making them', () => {
    fc.assert(fc.property(text, (t) => {
      expect(estimateTokens(t)).toBe((t.match(/\s*\S{1,4}/g) ?? []).length);
    }), { numRuns: 2_000 });
  });

  it('collapseSpaces answers as the regex replace and trim it stands for, whatever the text', () => {
    fc.assert(fc.property(text, (t) => {
      expect(collapseSpaces(t)).toBe(t.replace(/\s+/g, ' ').trim());
    }), { numRuns: 3_000 });
    for (const t of ['', ' ', 'a', ' a', 'a ', 'a  b', 'a b', 'a\tb', '\u00a0', 'a\u2028', 'Hello from the load generator']) {
      expect(collapseSpaces(t)).toBe(t.replace(/\s+/g, ' ').trim());
    }
  });

  it('splitTokens keeps every character and makes a piece per counted token (one for bare whitespace)', () => {
    fc.assert(fc.property(text, (t) => {
      const pieces = splitTokens(t);
      expect(pieces.join('')).toBe(t);
      expect(pieces.length).toBe(estimateTokens(t) || (t.length > 0 ? 1 : 0));
    }), { numRuns: 2_000 });
  });

  it('a plain call and a streamed one answer the same content and usage', async () => {
    const model = new OfflineModel();
    const req: ModelRequest = { model: 'x', messages: [{ role: 'user', content: 'tell me   something\twith  spaces ' }], maxTokens: 100 };
    const plain = await model.complete(req);
    const pieces: string[] = [];
    const streamed = await model.complete(req, { onDelta: (d) => { if (d.type === 'content') pieces.push(d.text); } });
    expect(plain.content).toBe(streamed.content);
    expect(pieces.join('')).toBe(plain.content);
    expect(plain.usage).toEqual(streamed.usage);
    const cut = await model.complete({ ...req, maxTokens: 3 });
    const cutStreamed = await model.complete({ ...req, maxTokens: 3 }, { onDelta: () => undefined });
    expect(cut).toEqual(cutStreamed);
    expect(cut.finishReason).toBe('length');
  });
});
