/**
 * A QoS 0 PUBLISH serialised once for many receivers: the broker's hot deliveries (heartbeats,
 * subset jobs and cancels) write these bytes themselves instead of handing each receiver a packet
 * object that aedes serialises again. The layout is the same for MQTT 3.1 and 3.1.1, the versions
 * aedes accepts: fixed header (not retained, not a duplicate), remaining length, topic, payload.
 */

function remainingLength(n: number): number[] {
  const bytes: number[] = [];
  do {
    const byte = n % 128;
    n = Math.floor(n / 128);
    bytes.push(n > 0 ? byte | 0x80 : byte);
  } while (n > 0);
  return bytes;
}

export function publishBytes(topic: string, payload: Buffer): Buffer {
  const name = Buffer.from(topic);
  const header = [0x30, ...remainingLength(2 + name.length + payload.length)];
  const bytes = Buffer.allocUnsafe(header.length + 2 + name.length + payload.length);
  bytes.set(header, 0);
  const at = bytes.writeUInt16BE(name.length, header.length);
  payload.copy(bytes, at + name.copy(bytes, at));
  return bytes;
}
