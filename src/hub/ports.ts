/**
 * The hub's ports: the small interfaces through which the hub's logic reaches the outside world.
 * Each has an embedded implementation (one process, no external services) and a scale-out one
 * (external MQTT broker, Redis, Postgres); the hub's logic is the same for both.
 */

export type MessageHandler = (topic: string, payload: Buffer) => void;

export interface PublishOptions {
  retain?: boolean;
  qos?: 0 | 1;
}

/** Publish/subscribe as the `dpowserver` account. */
export interface Broker {
  publish(topic: string, payload: string | Buffer, options?: PublishOptions): Promise<void>;
  /** `pattern` may use MQTT wildcards (`result/#`); the handler sees every matching message. */
  subscribe(pattern: string, handler: MessageHandler): Promise<void>;
  close(): Promise<void>;
}
