import { z } from 'zod';

/** A header name as RFC 9110 allows (a token). */
const HEADER_NAME_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;

/**
 * An agent spec's `a2a`: the agent is a proxy of a remote A2A server. `url` is the remote
 * agent card's URL (`.../.well-known/agent-card.json`, or any card path) or the server's base
 * URL (the card is then looked up at `/.well-known/agent-card.json` under it). `headers` go
 * with every request (card fetch included), e.g. an Authorization header; they are sealed at
 * rest like a provider's keys.
 *
 * @example
 * { name: 'weather', a2a: { url: 'https://agents.example.com/weather/.well-known/agent-card.json', headers: { authorization: 'Bearer ...' } } }
 */
export const externalAgentSpecSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'an http(s) URL' }).max(2048),
  headers: z.record(z.string().regex(HEADER_NAME_RE, 'a header name'), z.string().max(8192))
    .refine((h) => Object.keys(h).length <= 32, 'at most 32 headers').optional(),
  /** Limit of one remote call (a whole streamed task included). */
  timeoutMs: z.number().int().positive().max(3_600_000).default(120_000),
});
export type ExternalAgentSpec = z.output<typeof externalAgentSpecSchema>;
