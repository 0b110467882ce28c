/**
 * The key a remote address's limits are counted under (connections per address, login throttle,
 * refusals, live viewers): an IPv4 address as itself, also when the socket reports it mapped into
 * IPv6 (`::ffff:192.0.2.1`); an IPv6 address by its /64 network (`2001:db8:1:2::/64`). One IPv6
 * host is routinely given a whole /64 and may use any of its 2^64 addresses, so a cap keyed on the
 * full address would cap nothing. Anything else (a Unix socket's empty address) is its own key.
 */
import { isIPv4, isIPv6 } from "node:net";

const MAPPED_IPV4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/** The eight 16-bit groups of an IPv6 address (an IPv4 tail counts as two), as numbers. */
function groups(address: string): number[] {
  const [head = "", tail] = address.split("::");
  const part = (text: string) =>
    text === ""
      ? []
      : text.split(":").flatMap((group) => {
          if (!group.includes(".")) return [Number.parseInt(group, 16)];
          const [a = 0, b = 0, c = 0, d = 0] = group.split(".").map(Number);
          return [(a << 8) | b, (c << 8) | d];
        });
  const front = part(head);
  const back = tail === undefined ? [] : part(tail);
  return [...front, ...Array(8 - front.length - back.length).fill(0), ...back];
}

export function addressKey(address: string): string {
  const bare = address.split("%")[0] as string;
  const mapped = MAPPED_IPV4.exec(bare);
  if (mapped && isIPv4(mapped[1] as string)) return mapped[1] as string;
  if (!isIPv6(bare)) return address;
  const network = groups(bare)
    .slice(0, 4)
    .map((group) => group.toString(16));
  return `${network.join(":")}::/64`;
}
