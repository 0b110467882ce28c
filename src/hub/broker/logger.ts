/** The few logger methods the broker code uses; a pino logger fits. */
export interface BrokerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export const silentLogger: BrokerLogger = { info: () => {}, warn: () => {} };
