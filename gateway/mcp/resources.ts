import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { AGENT_NAME_RE, DIRECTORY_PATH, DirectoryCommand, type AgentDescription, type AgentInfo, type GatewayActor } from '../../actors/index.js';
import { TroupeError } from '../../protocol/index.js';
import { CONVERSATION_ID_RE } from '../run-request.js';

/** Agents listed as resources at most (a catalog of thousands is read with `list_agents`). */
const MAX_LISTED = 500;

function one(v: string | string[] | undefined): string {
  return (Array.isArray(v) ? v[0] : v) ?? '';
}

function json(uri: string, value: unknown): { contents: Array<{ uri: string; mimeType: string; text: string }> } {
  return { contents: [{ uri, mimeType: 'application/json', text: JSON.stringify(value) }] };
}

/**
 * Resources of the troupe MCP server: each agent's card at `troupe://agents/{name}` (listed),
 * and a stored conversation's transcript at `troupe://agents/{name}/conversations/{id}`.
 * Reads are asks through the gateway actor, wherever in the cluster the agent lives.
 */
export function registerTroupeResources(server: McpServer, gateway: GatewayActor): void {
  const directory = <T>(op: ConstructorParameters<typeof DirectoryCommand>[0]): Promise<T> =>
    gateway.request<T>({ kind: 'actor', address: DIRECTORY_PATH }, new DirectoryCommand(op));

  server.registerResource('agent-card', new ResourceTemplate('troupe://agents/{name}', {
    list: async () => {
      const { agents } = await directory<{ agents: AgentInfo[] }>({ op: 'catalog' });
      return {
        resources: agents.slice(0, MAX_LISTED).map((a) => ({
          uri: `troupe://agents/${encodeURIComponent(a.name)}`, name: a.name, mimeType: 'application/json',
          ...(a.description ? { description: a.description } : {}),
        })),
      };
    },
  }), { title: 'Agent card', description: 'An agent: description, skills, model, tools, node and status.', mimeType: 'application/json' }, async (uri, vars) => {
    const name = decodeURIComponent(one(vars['name']));
    const d = AGENT_NAME_RE.test(name) ? await directory<AgentDescription | null>({ op: 'describe', name }) : null;
    if (!d) throw new TroupeError('TROUPE_ERR_AGENT_NOT_FOUND', `no agent named ${name.slice(0, 64)} in the cluster`);
    return json(uri.href, d);
  });

  server.registerResource('conversation', new ResourceTemplate('troupe://agents/{name}/conversations/{id}', { list: undefined }), {
    title: 'Conversation transcript', description: 'The stored messages of one conversation with an agent.', mimeType: 'application/json',
  }, async (uri, vars) => {
    const name = decodeURIComponent(one(vars['name']));
    const id = decodeURIComponent(one(vars['id']));
    if (!AGENT_NAME_RE.test(name) || !CONVERSATION_ID_RE.test(id)) throw new TroupeError('TROUPE_ERR_GATEWAY_NOT_FOUND', 'no such conversation');
    const c = await gateway.request({ kind: 'agent', name }, { type: 'agent.conversation', conversationId: id });
    if (!c) throw new TroupeError('TROUPE_ERR_GATEWAY_NOT_FOUND', `agent ${name} has no conversation ${id}`);
    return json(uri.href, c);
  });
}
