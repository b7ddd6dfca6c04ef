import { randomUUID } from 'node:crypto';
import { Message, Role, Task, type SendMessageRequest } from '@a2a-js/sdk';
import { UnauthenticatedUser, defaultServerCallContextBuilder } from '@a2a-js/sdk/server';
import { z } from 'zod';
import { TroupeError } from '../../protocol/index.js';
import type { McpToolDescriptor } from '../modules/index.js';
import type { A2AEndpoint } from './routes.js';

const agentName = z.string().min(1).max(64).describe('the agent (of this node or another of the cluster)');

/** What the tools need of the a2a module: an agent's endpoint. */
type Endpoints = (agent: string) => Promise<A2AEndpoint | undefined>;

async function endpointOf(endpoints: Endpoints, agent: string): Promise<A2AEndpoint> {
  const ep = await endpoints(agent);
  if (!ep) throw new TroupeError('TROUPE_ERR_A2A_AGENT_NOT_FOUND', `no agent named ${agent.slice(0, 64)}`);
  return ep;
}

/** MCP callers act as the unauthenticated A2A user: they see the tasks MCP made, as a keyless A2A caller would. */
const callContext = (): ReturnType<typeof defaultServerCallContextBuilder> => defaultServerCallContextBuilder({ user: new UnauthenticatedUser(), headers: {}, extensions: [] });

/**
 * The A2A MCP tools (served at `/mcp` and by `troupe mcp`): send a message to an agent as an
 * A2A task (blocking: the answer comes back with the task), read a task and cancel one. Both go through
 * the same request handler as `POST /a2a/:agent`, so tasks are the same persistent task actors
 * and a follow-up to an input-required task is exactly-once here too.
 */
export function a2aMcpTools(endpoints: Endpoints): McpToolDescriptor<any>[] {
  const send: McpToolDescriptor<{ agent: string; text: string; task_id?: string; context_id?: string; message_id?: string }> = {
    name: 'a2a_send_message',
    description: 'Send a text message to an agent over A2A and wait for the task it makes (or continues, with task_id): its state and answer.',
    input: z.object({
      agent: agentName,
      text: z.string().min(1).max(256 * 1024),
      task_id: z.string().min(1).max(128).optional().describe('continue this task (an input-required one)'),
      context_id: z.string().min(1).max(128).optional(),
      message_id: z.string().min(1).max(128).optional().describe('a repeat with the same id gets the same answer'),
    }),
    call: async ({ agent, text, task_id, context_id, message_id }) => {
      const ep = await endpointOf(endpoints, agent);
      const message: Message = {
        messageId: message_id ?? randomUUID(), role: Role.ROLE_USER, contextId: context_id ?? '', taskId: task_id ?? '',
        parts: [{ content: { $case: 'text', value: text }, mediaType: 'text/plain', filename: '', metadata: undefined }],
        extensions: [], referenceTaskIds: [], metadata: undefined,
      };
      const params: SendMessageRequest = { tenant: '', message, configuration: undefined, metadata: undefined };
      const out = await ep.handler.sendMessage(params, callContext());
      return 'status' in out ? Task.toJSON(out) : Message.toJSON(out);
    },
  };
  const get: McpToolDescriptor<{ agent: string; id: string }> = {
    name: 'a2a_get_task',
    description: 'An A2A task of an agent: its state, history and artifacts.',
    input: z.object({ agent: agentName, id: z.string().min(1).max(128) }),
    call: async ({ agent, id }) => Task.toJSON(await (await endpointOf(endpoints, agent)).handler.getTask({ tenant: '', id, historyLength: undefined }, callContext())),
  };
  const cancel: McpToolDescriptor<{ agent: string; id: string }> = {
    name: 'a2a_cancel_task',
    description: 'Cancel an A2A task of an agent (its run is aborted); answers with the task as it is after the cancel.',
    input: z.object({ agent: agentName, id: z.string().min(1).max(128) }),
    call: async ({ agent, id }) => Task.toJSON(await (await endpointOf(endpoints, agent)).handler.cancelTask({ tenant: '', id, metadata: undefined }, callContext())),
  };
  return [send, get, cancel];
}
