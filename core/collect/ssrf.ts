// The SSRF guard: downloads may only reach public unicast addresses. Each host is resolved
// (every address), and if any address is loopback, private, link-local (cloud metadata
// 169.254.169.254 included), CGNAT, unique-local, multicast or otherwise special, the download
// is refused. The same lookup is handed to the socket, so the address checked is the address
// connected to: DNS rebinding between check and connect cannot slip through.
import dns from 'node:dns';
import net from 'node:net';
import ipaddr from 'ipaddr.js';

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Resolves a host name to all its addresses (tests inject one to simulate any DNS answer). */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = (hostname) => dns.promises.lookup(hostname, { all: true, verbatim: true });

export interface AddressPolicy {
  /** Allow every address (ALLOW_PRIVATE_URLS, for tests and closed networks). */
  allowPrivate: boolean;
  /** CIDR ranges trusted despite being private, e.g. a known internal mirror. */
  trustedRanges?: string[];
}

export const BLOCKED_ADDRESS = 'ERR_KODIAK_BLOCKED_ADDRESS';

export class BlockedAddressError extends Error {
  readonly code = BLOCKED_ADDRESS;
  constructor(
    readonly host: string,
    readonly address: string,
    readonly range: string,
  ) {
    super(`${host} resolves to ${address} (${range}), which downloads may not reach`);
    this.name = 'BlockedAddressError';
  }
}

const IPV4_COMPATIBLE = ipaddr.parseCIDR('::/96');

/** The ipaddr.js range name that makes `ip` off limits, or undefined when it is public. */
export function blockedRange(ip: string, policy: AddressPolicy): string | undefined {
  if (policy.allowPrivate) return undefined;
  if (!ipaddr.isValid(ip)) return 'invalid';
  // process() turns ::ffff:10.0.0.1 into 10.0.0.1 so mapped addresses get the IPv4 rules.
  const addr = ipaddr.process(ip);
  for (const cidr of policy.trustedRanges ?? []) {
    const [range, bits] = ipaddr.parseCIDR(cidr);
    if (range.kind() === addr.kind() && addr.match([range, bits] as [typeof addr, number])) return undefined;
  }
  const range = addr.range();
  if (range !== 'unicast') return range;
  // ipaddr.js calls the deprecated IPv4-compatible block (::a.b.c.d, RFC 4291 2.5.5.1) unicast,
  // yet stacks that still route it reach the embedded IPv4 address: [::7f00:1] is 127.0.0.1.
  // Its other embedding forms (mapped, NAT64, 6to4, Teredo) already have a range of their own.
  if (addr.kind() === 'ipv6' && addr.match(IPV4_COMPATIBLE)) return 'ipv4Compatible';
  return undefined;
}

/** Throws BlockedAddressError when `host` is an IP literal that the policy refuses. */
export function checkLiteralHost(host: string, policy: AddressPolicy): void {
  const bare = host.startsWith('[') ? host.slice(1, -1) : host;
  if (!net.isIP(bare)) return;
  const range = blockedRange(bare, policy);
  if (range) throw new BlockedAddressError(host, bare, range);
}

/** Resolve and check every address; the first address is the one to connect to. */
export async function resolveAllowed(hostname: string, policy: AddressPolicy, resolve: Resolver): Promise<ResolvedAddress[]> {
  if (net.isIP(hostname)) {
    checkLiteralHost(hostname, policy);
    return [{ address: hostname, family: net.isIP(hostname) }];
  }
  const addresses = await resolve(hostname);
  if (addresses.length === 0) throw Object.assign(new Error(`${hostname} does not resolve`), { code: 'ENOTFOUND' });
  for (const a of addresses) {
    const range = blockedRange(a.address, policy);
    if (range) throw new BlockedAddressError(hostname, a.address, range);
  }
  return addresses;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/**
 * A `lookup` for net.connect / undici's connector that only ever returns checked addresses.
 * Node calls it with `all: true` when happy-eyeballs is on, so both forms are answered.
 */
export function guardedLookup(policy: AddressPolicy, resolve: Resolver) {
  return (hostname: string, options: dns.LookupOptions, callback: LookupCallback): void => {
    resolveAllowed(hostname, policy, resolve).then(
      (addresses) => {
        const usable = options.family ? addresses.filter((a) => a.family === options.family) : addresses;
        const list = usable.length ? usable : addresses;
        if (options.all) callback(null, list);
        else callback(null, list[0]!.address, list[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, ''),
    );
  };
}
