import { lookup as dnsLookup } from 'node:dns';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { TroupeError } from '../../../protocol/index.js';

/** Where push notifications may go besides public addresses (from `a2a.push`). */
export interface UrlPolicy {
  /** Host names (or IP literals) allowed whatever they resolve to; `*.example.com` matches its subdomains. */
  readonly allowHosts: readonly string[];
  /** Private, loopback, link-local and unique-local addresses are allowed (cloud metadata addresses still are not). */
  readonly allowPrivate: boolean;
}

/**
 * Cloud metadata endpoints: refused even with `allowPrivate` (only naming the host in
 * `allowHosts` lets one through). AWS/GCP/Azure/OpenStack, AWS IPv6, AWS ECS task metadata,
 * Alibaba, Oracle.
 */
const METADATA = new Set(['169.254.169.254', 'fd00:ec2::254', '169.254.170.2', '169.254.170.23', '100.100.100.200', '192.0.0.192']);

/** Ranges `allowPrivate` opens; every other non-unicast range (multicast, broadcast, unspecified, reserved, NAT64/6to4/teredo embeddings) stays refused. */
const PRIVATE_RANGES = new Set(['private', 'loopback', 'linkLocal', 'uniqueLocal', 'carrierGradeNat']);

/** Addresses one host name may resolve to that are checked (the first allowed one is used). */
const MAX_ADDRESSES = 32;

function refused(message: string): TroupeError {
  return new TroupeError('TROUPE_ERR_A2A_PUSH_URL_REFUSED', message);
}

/** The host of a URL as compared with `allowHosts`: lower case, without IPv6 brackets or a trailing dot. */
function hostOf(url: URL): string {
  return url.hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
}

/** True when `host` is named by the policy's `allowHosts` (exactly, or under a `*.` entry). */
export function hostAllowed(host: string, policy: UrlPolicy): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
  return policy.allowHosts.some((entry) => {
    const e = entry.toLowerCase();
    return e.startsWith('*.') ? h.endsWith(e.slice(1)) && h.length > e.length - 1 : h === e;
  });
}

/**
 * Why an address may not receive a push notification, or undefined when it may. An IPv4
 * address mapped into IPv6 is judged as the IPv4 address it carries.
 *
 * @example
 * addressRefusal('169.254.169.254', { allowHosts: [], allowPrivate: true }); // 'a cloud metadata address'
 */
export function addressRefusal(address: string, policy: Pick<UrlPolicy, 'allowPrivate'>): string | undefined {
  if (!ipaddr.isValid(address)) return 'not an IP address';
  const ip = ipaddr.process(address);
  const normal = ip.toNormalizedString();
  if (METADATA.has(ip.toString()) || METADATA.has(normal) || METADATA.has(ipaddr.parse(address).toString())) return 'a cloud metadata address';
  const range = ip.range();
  if (range === 'unicast') return undefined;
  if (policy.allowPrivate && PRIVATE_RANGES.has(range)) return undefined;
  return `a ${range} address`;
}

/**
 * The URL parsed and its scheme checked (http or https, no credentials in it); host and
 * addresses are checked by {@link checkPushUrl}. Throws TROUPE_ERR_A2A_PUSH_URL_REFUSED.
 */
export function parsePushUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refused('the push notification URL is not a valid absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw refused(`push notifications go to http or https URLs only, not ${url.protocol.slice(0, 16)}`);
  if (url.username || url.password) throw refused('a push notification URL may not carry credentials (use the config token or authentication)');
  return url;
}

type Resolve = (host: string) => Promise<string[]>;

/** How long a name may take to resolve when a config is saved. */
const RESOLVE_TIMEOUT_MS = 5_000;

const defaultResolve: Resolve = (host) =>
  new Promise((resolve, reject) => {
    // an I/O bound, not a timer of the node's logic: a stuck resolver must not hold a request
    const timer = setTimeout(() => reject(new Error('DNS lookup timed out')), RESOLVE_TIMEOUT_MS);
    timer.unref();
    dnsLookup(host, { all: true, verbatim: true }, (err, addresses) => {
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(addresses.map((a) => a.address));
    });
  });

/**
 * Check a push notification URL against the policy: http(s) only; a host named in
 * `allowHosts` passes; else every address the host resolves to (DNS is asked) must be a
 * public one, or private/loopback/link-local with `allowPrivate`; cloud metadata addresses
 * (169.254.169.254, fd00:ec2::254, ...) never. Throws TROUPE_ERR_A2A_PUSH_URL_REFUSED.
 * Delivery checks again at connect time ({@link guardedLookup}), so a name that later
 * resolves elsewhere (DNS rebinding) is refused then.
 *
 * @example
 * await checkPushUrl('https://hooks.example.com/a2a', { allowHosts: [], allowPrivate: false });
 */
export async function checkPushUrl(raw: string, policy: UrlPolicy, resolve: Resolve = defaultResolve): Promise<URL> {
  const url = parsePushUrl(raw);
  const host = hostOf(url);
  if (hostAllowed(host, policy)) return url;
  let addresses: string[];
  if (ipaddr.isValid(host)) addresses = [host];
  else {
    try {
      addresses = (await resolve(host)).slice(0, MAX_ADDRESSES);
    } catch {
      throw refused('the push notification host does not resolve');
    }
    if (addresses.length === 0) throw refused('the push notification host does not resolve');
  }
  for (const a of addresses) {
    const why = addressRefusal(a, policy);
    if (why) throw refused(`the push notification host resolves to ${why}; allow it with a2a.push.allowHosts or allowPrivate`);
  }
  return url;
}

/**
 * A `lookup` for `http.request` that resolves like the system does and refuses (with
 * TROUPE_ERR_A2A_PUSH_URL_REFUSED) a host whose addresses the policy refuses: the address
 * checked is the address connected to.
 */
export function guardedLookup(policy: UrlPolicy): LookupFunction {
  return ((hostname: string, options: object, callback: (err: NodeJS.ErrnoException | null, address: string | Array<{ address: string; family: number }>, family?: number) => void) => {
    dnsLookup(hostname, { ...options, all: true, verbatim: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = addresses.slice(0, MAX_ADDRESSES);
      if (!hostAllowed(hostname, policy)) {
        for (const a of list) {
          const why = addressRefusal(a.address, policy);
          if (why) return callback(refused(`the push notification host resolves to ${why}`) as unknown as NodeJS.ErrnoException, '', 0);
        }
      }
      if (list.length === 0) return callback(refused('the push notification host does not resolve') as unknown as NodeJS.ErrnoException, '', 0);
      if ((options as { all?: boolean }).all) return callback(null, list);
      return callback(null, list[0]!.address, list[0]!.family);
    });
  }) as LookupFunction;
}
