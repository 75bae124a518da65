// One teacher name can stand for many replicas (a Kubernetes headless Service resolves to the
// address of every ready pod): each address becomes a replica of its own, and the name is looked up
// again from time to time so that new pods join. A wss:// certificate is still checked against the
// name, not the address.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

export interface ReplicaAddress {
  url: string;
  /** The name the replica's TLS certificate must carry, where the URL holds its address. */
  servername?: string;
}

/** A host's addresses; IPv4 ones where it has both, so that one dual-stack machine counts once. */
export type Lookup = (host: string) => Promise<string[]>;

export const systemLookup: Lookup = async (host) => {
  const all = await lookup(host, { all: true });
  const v4 = all.filter((a) => a.family === 4);
  return (v4.length ? v4 : all).map((a) => a.address);
};

/**
 * The replicas the URLs stand for: one per address of each named host; addresses, and names that
 * do not resolve (or, `strict`, throw), stay as given.
 */
export async function replicaAddresses(urls: string[], resolve: Lookup = systemLookup, { strict = false } = {}): Promise<ReplicaAddress[]> {
  const out = new Map<string, ReplicaAddress>();
  for (const raw of urls) {
    const parsed = new URL(raw);
    const host = parsed.hostname.replace(/^\[|\]$/g, '');
    const addresses = isIP(host) || host === 'localhost' ? [] : await resolve(host).catch((err: Error) => { if (strict) throw err; return []; });
    if (addresses.length <= 1) {
      out.set(raw, { url: raw });
      continue;
    }
    for (const address of addresses) {
      const url = new URL(raw);
      url.hostname = isIP(address) === 6 ? `[${address}]` : address;
      out.set(url.toString(), { url: url.toString(), servername: host });
    }
  }
  return [...out.values()];
}
