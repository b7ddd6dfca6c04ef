import Ajv2020 from 'ajv/dist/2020.js';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, testNode } from '../agent/harness.js';

afterEach(cleanup);

async function client() {
  const node = await testNode({ http: { port: 0 }, agents: [{ name: 'tooled', tools: ['calculator', 'clock'] }, { name: 'plain' }] });
  return { node, openai: new OpenAI({ baseURL: `${node.http!.url}/v1`, apiKey: 'unused', maxRetries: 0 }) };
}

const lookup = { type: 'function' as const, function: { name: 'lookup', description: 'look a word up', parameters: { type: 'object', properties: { word: { type: 'string' } } } } };

describe('OpenAI compatibility', () => {
  it('tool_choice "required" with client tools on an agent with its own tools returns a call to a client tool', async () => {
    const { openai } = await client();
    const r = await openai.chat.completions.create({ model: 'tooled', messages: [{ role: 'user', content: 'hello' }], tools: [lookup], tool_choice: 'required' });
    expect(r.choices[0]!.finish_reason).toBe('tool_calls');
    expect(r.choices[0]!.message.tool_calls?.map((c) => (c as { function: { name: string } }).function.name)).toEqual(['lookup']);
    // without "required", the same request is answered with text
    const auto = await openai.chat.completions.create({ model: 'tooled', messages: [{ role: 'user', content: 'hello' }], tools: [lookup] });
    expect(auto.choices[0]!.finish_reason).toBe('stop');
  });

  it('refuses n > 1 with a 400 that names n and says why', async () => {
    const { openai } = await client();
    const e = await openai.chat.completions.create({ model: 'plain', messages: [{ role: 'user', content: 'hi' }], n: 2 }).catch((x: unknown) => x) as { status: number; error: any };
    expect(e.status).toBe(400);
    expect(e.error).toMatchObject({ param: 'n', code: 'TROUPE_ERR_GATEWAY_BAD_REQUEST', type: 'invalid_request_error' });
    expect(e.error.message).toBe('n > 1 is not supported: a troupe agent run yields exactly one choice; send n requests for n choices');
  });

  it('answers a json_schema response format from the offline model with JSON that validates against the schema', async () => {
    const { openai } = await client();
    const schema = {
      type: 'object', additionalProperties: false, required: ['title', 'steps'],
      properties: { title: { type: 'string' }, steps: { type: 'array', minItems: 1, items: { type: 'object', required: ['agent', 'order'], properties: { agent: { enum: ['a', 'b'] }, order: { type: 'integer', minimum: 1 } } } } },
    };
    const r = await openai.chat.completions.create({
      model: 'plain', messages: [{ role: 'user', content: 'make a plan' }], response_format: { type: 'json_schema', json_schema: { name: 'plan', schema, strict: true } },
    });
    const value: unknown = JSON.parse(r.choices[0]!.message.content!);
    const validate = new Ajv2020({ strict: false }).compile(schema);
    expect(validate(value), JSON.stringify(validate.errors)).toBe(true);
    expect((value as { title: string }).title).toBe('You said: make a plan');
  });
});
