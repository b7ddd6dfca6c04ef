import type { FakeReply, RecordedRequest } from '../fixtures/fake-openai.js';

/**
 * The fake upstream's script for delegation tests, driven by each agent's instructions:
 * - `DELEGATE b:task one|c:task two`: the first model call asks the `delegate` tool for each
 *   pair (in parallel); the next one answers `<agent> got: ` and the tool results.
 * - `FAIL`: a 500 (the agent's run fails with TROUPE_ERR_MODEL_UPSTREAM).
 * - `HANG`: never answers.
 * - anything else: answers `<instructions> / <the last user message>`.
 */
export function delegationScript(call: RecordedRequest): FakeReply {
  const messages: any[] = call.body?.messages ?? [];
  const system = String(messages.find((m) => m.role === 'system')?.content ?? '');
  const user = String([...messages].reverse().find((m) => m.role === 'user')?.content ?? '');
  const tools = messages.filter((m) => m.role === 'tool').map((m) => String(m.content));
  if (system === 'FAIL') return { kind: 'error', status: 500, message: 'upstream broke' };
  if (system === 'HANG') return { kind: 'hang' };
  if (system.startsWith('DELEGATE ')) {
    const me = system.split(' ')[1]!;
    if (tools.length > 0) return { kind: 'text', text: `${me} got: ${tools.join(' + ')}` };
    const pairs = system.split(' ').slice(2).join(' ').split('|').map((p) => p.split(':') as [string, string]);
    return { kind: 'tool_calls', calls: pairs.map(([agent, task], i) => ({ id: `call_${i}`, name: 'delegate', arguments: JSON.stringify({ agent, task: `${task} (${user})` }) })) };
  }
  return { kind: 'text', text: `${system} / ${user}` };
}

/** Upstream calls made for an agent (by its instructions). */
export function callsFor(calls: readonly RecordedRequest[], instructions: string): number {
  return calls.filter((c) => (c.body?.messages ?? []).some((m: any) => m.role === 'system' && m.content === instructions)).length;
}
