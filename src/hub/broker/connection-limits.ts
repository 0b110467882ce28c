/** Open MQTT connections per remote address, capped, so one address cannot take every socket. */
export const DEFAULT_MAX_CONNECTIONS_PER_IP = 128;

export class ConnectionsPerAddress {
  private readonly open = new Map<string, number>();

  /** `max` 0 means no cap. */
  constructor(private readonly max: number) {}

  /** Counts a new connection from `address`; false (and nothing counted) when it is at the cap. */
  admit(address: string): boolean {
    const count = this.open.get(address) ?? 0;
    if (this.max > 0 && count >= this.max) return false;
    this.open.set(address, count + 1);
    return true;
  }

  release(address: string): void {
    const count = this.open.get(address) ?? 0;
    if (count <= 1) this.open.delete(address);
    else this.open.set(address, count - 1);
  }
}
