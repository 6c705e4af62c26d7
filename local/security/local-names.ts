import { isIPv4, isIPv6 } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';

/** `host[:port]` as a browser or client sends it: a name, an IPv4 literal or a bracketed IPv6 literal. */
const HOST_HEADER = /^(?<name>\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(?<port>\d{1,5}))?$/;

/** The wildcard addresses: listening there means every interface of the machine. */
const WILDCARDS = new Set(['0.0.0.0', '::', '[::]']);

function unbracket(name: string): string {
  return name.startsWith('[') ? name.slice(1, -1) : name;
}

function isLoopbackAddress(address: string): boolean {
  if (isIPv4(address)) return address.startsWith('127.');
  return address === '::1';
}

/**
 * The names and origins of the local cloud on this machine, the basis of its DNS rebinding and cross-site
 * protections. A web page can make a browser send requests to the local cloud in two ways: under the page's
 * own host name after re-pointing that name's DNS at 127.0.0.1 (rebinding: the `Host` header then carries the
 * attacker's name), or cross-site from its own origin (the `Origin`/`Sec-Fetch-Site` headers say so). Names
 * of this machine are `localhost` and `*.localhost` (RFC 6761: always loopback, never resolved through DNS;
 * the local cloud's queue URLs use `sqs.<region>.localhost`), loopback and interface address literals (no
 * DNS involved), the `--host` value, and the machine's host name when listening on every interface.
 */
export class LocalNames {
  readonly #names = new Set<string>(['localhost']);
  readonly #ports = new Set<number>();

  constructor(host = '127.0.0.1') {
    const listen = unbracket(host.toLowerCase());
    if (!WILDCARDS.has(listen)) this.#names.add(listen);
    else this.#names.add(hostname().toLowerCase()).add(`${hostname().toLowerCase()}.local`);
    for (const entries of Object.values(networkInterfaces())) {
      for (const entry of entries ?? []) this.#names.add(entry.address.toLowerCase().replace(/%.*$/, ''));
    }
  }

  /** Registers a port the local cloud listens on: pages served from it are the local cloud's own origins. */
  addPort(port: number): void {
    this.#ports.add(port);
  }

  /** Whether `name` (no port; IPv6 with or without brackets) is a name of this machine. */
  isLocalName(name: string): boolean {
    const bare = unbracket(name.toLowerCase());
    if (bare === 'localhost' || bare.endsWith('.localhost')) return true;
    if ((isIPv4(bare) || isIPv6(bare)) && isLoopbackAddress(bare)) return true;
    return this.#names.has(bare);
  }

  /**
   * Whether a `Host` header names this machine. A missing header (HTTP/1.0) passes: browsers always send one,
   * so it cannot come from a rebinding page. Anything not shaped as `host[:port]` (`a@b`, `a/b`) fails.
   */
  isLocalHostHeader(header: string | undefined): boolean {
    if (header === undefined) return true;
    const match = HOST_HEADER.exec(header.toLowerCase());
    return match?.groups?.name !== undefined && this.isLocalName(match.groups.name);
  }

  /**
   * Whether an `Origin` header names a page served by the local cloud itself (`http://<local name>:<one of its
   * ports>`). `null` (sandboxed frames, `file:`) and every other origin fail.
   */
  isOwnOrigin(origin: string): boolean {
    if (!URL.canParse(origin)) return false;
    const url = new URL(origin);
    if (url.protocol !== 'http:' || url.origin !== origin.toLowerCase()) return false;
    return this.isLocalName(url.hostname) && this.#ports.has(Number(url.port || 80));
  }
}
