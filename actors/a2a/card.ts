import { createHash } from 'node:crypto';
import { AgentCard } from '@a2a-js/sdk';
import { duplicateInterfacesForLegacy } from '@a2a-js/sdk/compat/v0_3';
import type { AgentInfo } from '../agent/index.js';

/** What a card says about the node it is served from. */
export interface CardContext {
  /** Base URL of the gateway, as the caller reached it (`http://host:port`). */
  baseUrl: string;
  /** API keys are set: the card declares a bearer scheme and requires it. */
  secured: boolean;
  version: string;
  /** The agent takes push notification configs (`capabilities.pushNotifications`). */
  push?: boolean;
  /** The agent also serves the REST (HTTP+JSON) bindings: A2A 1.0 at `<url>/v1`, 0.3 at `<url>` (its clients add `/v1/...`). */
  rest?: boolean;
}

/**
 * The A2A 1.0 card of one agent, built from its spec (name, description, skills with tags),
 * with the JSON-RPC interface for 1.0 and, duplicated by the SDK, for 0.3, and with `rest`
 * the HTTP+JSON interfaces of both after them (so the 0.3 card the SDK derives from this one
 * keeps JSON-RPC as its `preferredTransport` and lists HTTP+JSON in `additionalInterfaces`).
 *
 * @example
 * const card = agentCard(registry.get('echo')!, { baseUrl: 'http://127.0.0.1:8787', secured: false, version: '0.1.0' });
 */
export function agentCard(info: Pick<AgentInfo, 'name' | 'description' | 'skills'>, c: CardContext): AgentCard {
  const url = `${c.baseUrl}/a2a/${encodeURIComponent(info.name)}`;
  return {
    name: info.name,
    description: info.description || `troupe agent ${info.name}`,
    supportedInterfaces: [
      ...duplicateInterfacesForLegacy([
        { url, protocolBinding: 'JSONRPC', tenant: '', protocolVersion: '1.0' },
        ...(c.rest ? [{ url: `${url}/v1`, protocolBinding: 'HTTP+JSON', tenant: '', protocolVersion: '1.0' }] : []),
      ], ['JSONRPC']),
      ...(c.rest ? [{ url, protocolBinding: 'HTTP+JSON', tenant: '', protocolVersion: '0.3' }] : []),
    ],
    provider: { organization: 'troupe', url: c.baseUrl },
    version: c.version,
    capabilities: { streaming: true, pushNotifications: c.push === true, extensions: [], extendedAgentCard: false },
    securitySchemes: c.secured
      ? { bearer: { scheme: { $case: 'httpAuthSecurityScheme', value: { description: 'a troupe API key', scheme: 'Bearer', bearerFormat: '' } } } }
      : {},
    securityRequirements: c.secured ? [{ schemes: { bearer: { list: [] } } }] : [],
    // what the executor reads: text parts, and data parts (as JSON text)
    defaultInputModes: ['text/plain', 'application/json'],
    defaultOutputModes: ['text/plain'],
    skills: info.skills.map((skill) => {
      const s = skill as { id: string; name: string; tags: string[]; description?: string; examples?: string[] };
      return {
      id: s.id, name: s.name, description: s.description ?? s.name, tags: [...s.tags], examples: [...(s.examples ?? [])],
      inputModes: [], outputModes: [], securityRequirements: [],
      };
    }),
    signatures: [],
  };
}

/** The card as served: its JSON (ProtoJSON, via the SDK) and an ETag of it. */
export function cardBody(card: AgentCard): { json: unknown; etag: string } {
  const json = AgentCard.toJSON(card) as Record<string, unknown>;
  // a required field even when empty (ProtoJSON leaves empty lists out)
  if (!Array.isArray(json.skills)) json.skills = [];
  const etag = `"${createHash('sha256').update(JSON.stringify(json)).digest('base64url').slice(0, 27)}"`;
  return { json, etag };
}
