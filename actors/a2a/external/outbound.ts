import { lookup as dnsLookup } from 'node:dns';
import { lookup } from 'node:dns/promises';
import type { LookupFunction } from 'node:net';
import { Agent } from 'undici';
import ipaddr from 'ipaddr.js';
import { TroupeError } from '../../../protocol/index.js';
import { MAX_RESPONSE_BYTES } from './options.js';

/** Which addresses an outbound URL may reach besides public unicast ones (config `externalAgents`). */
export interface OutboundPolicy {
  /** 127.0.0.0/8 and ::1 (tests, a sidecar on the same host). */
  allowLoopback: boolean;
  /** RFC 1918, carrier-grade NAT, IPv6 unique-local and link-local (the cloud metadata address 169.254.169.254 among them). */
  allowPrivate: boolean;
}

/** Ranges never reached, whatever the policy: nobody serves an agent there. */
const NEVER = new Set(['unspecified', 'broadcast', 'multicast', 'reserved', 'benchmarking', 'discard', 'amt', 'as112', 'deprecated', 'orchid2']);
const PRIVATE = new Set(['private', 'carrierGradeNat', 'uniqueLocal', 'linkLocal']);

const refused = (why: string): TroupeError => new TroupeError('TROUPE_ERR_A2A_EXTERNAL_URL_REFUSED', why);

/**
 * Why an address may not be reached under a policy, or undefined when it may. IPv4-mapped
 * IPv6 addresses are judged as the IPv4 address they carry.
 *
 * @example
 * addressRefusal('169.254.169.254', { allowLoopback: false, allowPrivate: false }); // 'a link-local address'
 */
export function addressRefusal(address: string, policy: OutboundPolicy): string | undefined {
  if (!ipaddr.isValid(address)) return 'not an IP address';
  let ip = ipaddr.parse(address);
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()) ip = (ip as ipaddr.IPv6).toIPv4Address();
  const range = ip.range();
  if (range === 'unicast') return undefined;
  if (range === 'loopback') return policy.allowLoopback ? undefined : 'a loopback address (allowLoopback is off)';
  if (PRIVATE.has(range)) return policy.allowPrivate ? undefined : `a ${range === 'linkLocal' ? 'link-local (or metadata)' : 'private'} address (allowPrivate is off)`;
  if (NEVER.has(range)) return `a ${range} address`;
  // IPv6 transition ranges (6to4, teredo, NAT64) embed other addresses: refused unless private ones are allowed
  return policy.allowPrivate ? undefined : `a ${range} address`;
}

/**
 * Check a URL before any request to it: http(s) only, no credentials in it, and every
 * address its host resolves to allowed by the policy. Throws
 * TROUPE_ERR_A2A_EXTERNAL_URL_REFUSED; the message names the host, never the URL's path or query.
 * The connection itself is checked again ({@link guardedFetch}).
 *
 * @example
 * await checkOutboundUrl('http://127.0.0.1:9999/.well-known/agent-card.json', { allowLoopback: true, allowPrivate: false });
 */
export async function checkOutboundUrl(url: string | URL, policy: OutboundPolicy, resolve: (host: string) => Promise<string[]> = resolveAll): Promise<void> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw refused('an external agent URL that does not parse');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw refused(`an external agent URL must be http(s), not ${u.protocol.slice(0, 16)}`);
  if (u.username !== '' || u.password !== '') throw refused('an external agent URL may not carry credentials (use a2a.headers)');
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  const addresses = ipaddr.isValid(host) ? [host] : await resolve(host);
  if (addresses.length === 0) throw refused(`host ${host.slice(0, 253)} does not resolve`);
  for (const a of addresses) {
    const why = addressRefusal(a, policy);
    if (why) throw refused(`host ${host.slice(0, 253)} is ${why}`);
  }
}

/**
 * The part of {@link checkOutboundUrl} that needs no resolver: the scheme, no credentials,
 * and a literal address (or `localhost`) judged by the policy. Names are checked at each
 * request. Used when a spec is made, so a refused URL refuses the spec.
 *
 * @example
 * checkUrlNow('http://169.254.169.254/latest', policy); // throws TROUPE_ERR_A2A_EXTERNAL_URL_REFUSED
 */
export function checkUrlNow(url: string, policy: OutboundPolicy): void {
  const u = new URL(url);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw refused(`an external agent URL must be http(s), not ${u.protocol.slice(0, 16)}`);
  if (u.username !== '' || u.password !== '') throw refused('an external agent URL may not carry credentials (use a2a.headers)');
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  const literal = host.toLowerCase() === 'localhost' || host.toLowerCase().endsWith('.localhost') ? '127.0.0.1' : host;
  if (!ipaddr.isValid(literal)) return;
  const why = addressRefusal(literal, policy);
  if (why) throw refused(`host ${host.slice(0, 253)} is ${why}`);
}

async function resolveAll(host: string): Promise<string[]> {
  try {
    return (await lookup(host, { all: true, verbatim: true })).map((r) => r.address);
  } catch (cause) {
    throw new TroupeError('TROUPE_ERR_A2A_EXTERNAL_UNREACHABLE', `host ${host.slice(0, 253)} does not resolve`, { cause });
  }
}

/**
 * A response whose body ends in an error (TROUPE_ERR_A2A_EXTERNAL_ANSWER_TOO_LARGE) once more
 * than `max` bytes came: a hostile or broken server cannot fill the node's memory with an
 * endless card, answer or event. A declared length over it is refused before any byte is read.
 */
function capped(res: Response, max: number, host: string): Response {
  const tooLarge = (): TroupeError => new TroupeError('TROUPE_ERR_A2A_EXTERNAL_ANSWER_TOO_LARGE', `host ${host.slice(0, 253)} answered with more than ${max} bytes; the answer was cut`);
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > max) {
    void res.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (!res.body) return res;
  let seen = 0;
  const body = res.body.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, out) {
      seen += chunk.byteLength;
      if (seen > max) out.error(tooLarge());
      else out.enqueue(chunk);
    },
  }));
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
}

/**
 * A `lookup` for the connections of a proxy agent: resolves like the system does and refuses
 * (TROUPE_ERR_A2A_EXTERNAL_URL_REFUSED) a name any of whose addresses the policy refuses, so
 * the address checked is the address connected to (a name that resolves elsewhere between the
 * check and the connection, DNS rebinding, is refused then).
 */
function guardedLookup(policy: OutboundPolicy): LookupFunction {
  return ((hostname: string, options: object, callback: (err: NodeJS.ErrnoException | null, address: string | Array<{ address: string; family: number }>, family?: number) => void) => {
    dnsLookup(hostname, { ...options, all: true, verbatim: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      if (addresses.length === 0) return callback(refused(`host ${hostname.slice(0, 253)} does not resolve`) as unknown as NodeJS.ErrnoException, '', 0);
      for (const a of addresses) {
        const why = addressRefusal(a.address, policy);
        if (why) return callback(refused(`host ${hostname.slice(0, 253)} is ${why}`) as unknown as NodeJS.ErrnoException, '', 0);
      }
      if ((options as { all?: boolean }).all) return callback(null, addresses);
      return callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  }) as LookupFunction;
}

/**
 * A fetch for the A2A client of one external agent: every request (the card, the endpoint the
 * card names, each call) is checked with {@link checkOutboundUrl} first, and carries the
 * agent's headers (the SDK's own headers win on a clash); its connection goes to an address
 * checked again at connect time; every answer is cut past `maxResponseBytes`.
 *
 * @example
 * const fetchImpl = guardedFetch({ authorization: 'Bearer x' }, { allowLoopback: false, allowPrivate: false });
 */
export function guardedFetch(
  headers: Readonly<Record<string, string>> | undefined,
  policy: OutboundPolicy & { maxResponseBytes?: number },
  base: typeof fetch = fetch,
): typeof fetch {
  const max = policy.maxResponseBytes ?? MAX_RESPONSE_BYTES;
  const dispatcher = new Agent({ connect: { lookup: guardedLookup(policy) } });
  const send = async (input: Parameters<typeof fetch>[0], init: RequestInit, host: string): Promise<Response> => {
    let res: Response;
    try {
      // no redirects: a redirect could lead past the check
      res = await base(input, { ...init, redirect: 'error', dispatcher } as unknown as RequestInit);
    } catch (e) {
      // refused at connect time: the coded refusal, not fetch's wrapper
      const cause = (e as { cause?: unknown })?.cause;
      throw cause instanceof TroupeError ? cause : e;
    }
    return capped(res, max, host);
  };
  return async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    await checkOutboundUrl(url, policy);
    const host = new URL(url).host;
    if (!headers || Object.keys(headers).length === 0) return send(input, { ...init }, host);
    const merged = new Headers(input instanceof Request ? input.headers : undefined);
    for (const [k, v] of new Headers(init?.headers)) merged.set(k, v);
    for (const [k, v] of Object.entries(headers)) if (!merged.has(k)) merged.set(k, v);
    return send(input, { ...init, headers: merged }, host);
  };
}
