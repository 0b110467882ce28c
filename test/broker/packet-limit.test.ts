import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PacketSizeGuard } from "../../src/hub/broker/packet-limit.js";

/** An MQTT fixed header: type byte, remaining length (7 bits per byte, low first). */
function header(bodyLength: number): Buffer {
  const length: number[] = [];
  let rest = bodyLength;
  do {
    length.push((rest % 128) | (rest >= 128 ? 0x80 : 0));
    rest = Math.floor(rest / 128);
  } while (rest > 0);
  return Buffer.from([0x30, ...length]);
}

function packet(bodyLength: number): Buffer {
  return Buffer.concat([header(bodyLength), Buffer.alloc(bodyLength, 7)]);
}

/** `bytes` cut at arbitrary points, as TCP may deliver them. */
function chunks(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  return [...points, bytes.length].map((end, i) => bytes.subarray(i === 0 ? 0 : points[i - 1], end));
}

const MAX = 300;

describe("PacketSizeGuard", () => {
  it("passes any stream of packets within the limit, however it is chunked", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: MAX }), { maxLength: 8 }),
        fc.array(fc.nat()),
        (sizes, cuts) => {
          const guard = new PacketSizeGuard(MAX);
          const stream = Buffer.concat(sizes.map(packet));
          expect(chunks(stream, cuts).every((c) => guard.accept(c))).toBe(true);
        },
      ),
    );
  });

  it("stops at the first packet over the limit, before its body arrives", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: MAX }), { maxLength: 5 }),
        fc.integer({ min: MAX + 1, max: 2 ** 28 - 1 }),
        fc.array(fc.nat()),
        (sizes, tooBig, cuts) => {
          const guard = new PacketSizeGuard(MAX);
          const stream = Buffer.concat([...sizes.map(packet), header(tooBig)]);
          expect(chunks(stream, cuts).every((c) => guard.accept(c))).toBe(false);
        },
      ),
    );
  });

  it("refuses a remaining length longer than four bytes", () => {
    expect(new PacketSizeGuard(2 ** 30).accept(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x80, 0x01]))).toBe(
      false,
    );
  });
});
