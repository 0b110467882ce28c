import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { addressKey } from "../../src/hub/address-key.js";

const hex = (n: number) => n.toString(16);
const group = fc.integer({ min: 0, max: 0xffff });
const ipv6Groups = fc.array(group, { minLength: 8, maxLength: 8 });

/** Every way to write `g` with one "::" over a run of zero groups (or none), any case, any leading zeros. */
function spellings(g: number[], upper: boolean, padded: boolean): string[] {
  const write = (n: number) => {
    const text = padded ? hex(n).padStart(4, "0") : hex(n);
    return upper ? text.toUpperCase() : text;
  };
  const out = [g.map(write).join(":")];
  for (let from = 0; from < 8; from++)
    for (let to = from + 1; to <= 8; to++) {
      if (g.slice(from, to).some((n) => n !== 0)) continue;
      out.push(`${g.slice(0, from).map(write).join(":")}::${g.slice(to).map(write).join(":")}`);
    }
  return out;
}

describe("addressKey", () => {
  it("keys every IPv6 address by its /64, however it is written", () => {
    fc.assert(
      fc.property(ipv6Groups, fc.boolean(), fc.boolean(), (g, upper, padded) => {
        const expected = `${g.slice(0, 4).map(hex).join(":")}::/64`;
        for (const text of spellings(g, upper, padded)) expect(addressKey(text)).toBe(expected);
      }),
    );
  });

  it("gives two addresses one key exactly when their first 64 bits agree", () => {
    fc.assert(
      fc.property(ipv6Groups, ipv6Groups, (a, b) => {
        const same = a.slice(0, 4).every((n, i) => n === b[i]);
        expect(addressKey(a.map(hex).join(":")) === addressKey(b.map(hex).join(":"))).toBe(same);
      }),
    );
  });

  it("keys IPv4, mapped or not, as the IPv4 address, and leaves anything else alone", () => {
    expect(addressKey("192.0.2.7")).toBe("192.0.2.7");
    expect(addressKey("::ffff:192.0.2.7")).toBe("192.0.2.7");
    expect(addressKey("::FFFF:192.0.2.7")).toBe("192.0.2.7");
    expect(addressKey("::1")).toBe("0:0:0:0::/64");
    expect(addressKey("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
    expect(addressKey("64:ff9b::192.0.2.7")).toBe("64:ff9b:0:0::/64");
    expect(addressKey("")).toBe("");
    expect(addressKey("?")).toBe("?");
  });
});
