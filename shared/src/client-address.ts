import { createHmac, timingSafeEqual } from "node:crypto";
import { BlockList, isIP } from "node:net";

/** Elysia's `server` as far as the peer goes; null for a request handled in-process (`app.handle`). */
export type PeerSource = { requestIP(request: Request): { address: string } | null } | null;

const family = (address: string) => (isIP(address) === 6 ? "ipv6" : "ipv4");

/**
 * TRUSTED_PROXIES as a list: comma-separated addresses or CIDR ranges (`10.0.0.0/8`, `fd00::/8`).
 * Throws a one-line Error naming the first entry that is neither.
 */
export function parseTrustedProxies(list: string | undefined): BlockList {
  const proxies = new BlockList();
  for (const entry of (list ?? "").split(",").map((part) => part.trim())) {
    if (!entry) continue;
    const [address = "", prefix] = entry.split("/");
    const version = isIP(address);
    const bits = prefix === undefined ? undefined : Number(prefix);
    const maxBits = version === 6 ? 128 : 32;
    if (!version || (bits !== undefined && !(Number.isInteger(bits) && bits >= 0 && bits <= maxBits))) {
      throw new Error(`${JSON.stringify(entry)} is not an address or a CIDR range`);
    }
    if (bits === undefined) proxies.addAddress(address, family(address));
    else proxies.addSubnet(address, bits, family(address));
  }
  return proxies;
}

/**
 * The address a request came from: the socket's peer, or, when that peer is one of `proxies`
 * (TRUSTED_PROXIES), the X-Forwarded-For entry it appended; walking right to left past every entry
 * that is itself a trusted proxy, as a chain of them appends one each. Entries left of the first
 * untrusted one are whatever the client claimed and are never read. Undefined in-process, where
 * there is no socket.
 */
export function clientAddress(request: Request, server: PeerSource, proxies: BlockList): string | undefined {
  let address = server?.requestIP(request)?.address;
  const chain = request.headers.get("x-forwarded-for")?.split(",") ?? [];
  while (address && proxies.check(address, family(address))) {
    const appended = chain.pop()?.trim();
    if (!appended || !isIP(appended)) break;
    address = appended;
  }
  return address;
}

/** Where the web app vouches for the browser a call is made for: `<address> <signature>`. */
export const CLIENT_ADDRESS_HEADER = "x-lab-client-address";

/**
 * The browser's address as the web app vouches for it to identity, signed with a key derived from
 * JWT_SECRET, which the two already share: identity believes a signed address from any caller, and
 * nobody without the secret can write one (who has it can mint an admin's token anyway). A header
 * anyone could write (X-Forwarded-For) is only believed from TRUSTED_PROXIES.
 */
export class AddressSigner {
  private readonly key: Buffer;

  constructor(secret: string) {
    // its own key, so that no signature made here can ever stand for a token's, or the reverse
    this.key = createHmac("sha256", secret).update("lab client address").digest();
  }

  /** The header value vouching for `address`. */
  sign(address: string): string {
    return `${address} ${this.signature(address).toString("base64url")}`;
  }

  /** The address the request's header vouches for, or undefined when it is absent, malformed or forged. */
  verified(request: Request): string | undefined {
    const [address = "", signature, ...rest] = (request.headers.get(CLIENT_ADDRESS_HEADER) ?? "").split(" ");
    if (!signature || rest.length || !isIP(address)) return undefined;
    const expected = this.signature(address);
    const given = Buffer.from(signature, "base64url");
    return given.length === expected.length && timingSafeEqual(given, expected) ? address : undefined;
  }

  private signature(address: string) {
    return createHmac("sha256", this.key).update(address).digest();
  }
}
