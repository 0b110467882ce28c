import type { Command } from "commander";
import { FAN_OUT_DEFAULTS } from "../hub/broker/subset-fan-out.js";
import { MQTT_DEFAULTS, type MqttSettings } from "../hub/launch.js";
import { UsageError } from "./output.js";
import { durationText, parseDuration } from "./precache-flags.js";

/** Flags of the embedded MQTT broker (`dpow server`, `dpow start`). */
export interface MqttFlags {
  mqttSessions?: string;
  mqttSessionExpiry: string;
  mqttMaxSessions: string;
  mqttQueueLimit: string;
  mqttMaxPerIp: string;
  mqttMaxConnections?: string;
  mqttJobQos: string;
  fanout: string;
  fanoutEscalateMs: string;
}

export function addMqttFlags(command: Command): Command {
  return command
    .option(
      "--mqtt-sessions <file>",
      "SQLite file keeping persistent MQTT sessions across restarts (default: the --db file + .mqtt-sessions)",
    )
    .option(
      "--mqtt-session-expiry <duration>",
      "forget a persistent MQTT session unused this long",
      durationText(MQTT_DEFAULTS.sessionExpiryMs),
    )
    .option(
      "--mqtt-max-sessions <n>",
      "most persistent MQTT sessions kept; past it the one offline longest is dropped",
      String(MQTT_DEFAULTS.maxSessions),
    )
    .option(
      "--mqtt-queue-limit <n>",
      "most QoS 1 messages (jobs, cancels) queued for an offline worker; the oldest go first",
      String(MQTT_DEFAULTS.queueLimit),
    )
    .option(
      "--mqtt-max-per-ip <n>",
      "most MQTT connections from one address (0 = no cap)",
      String(MQTT_DEFAULTS.maxConnectionsPerIp),
    )
    .option(
      "--mqtt-max-connections <n>",
      "most MQTT connections in all (TCP and WebSocket); past it CONNACK 3, server unavailable (0 = no cap; default: the open-file limit less a tenth, at least 256, kept for the service API)",
    )
    .option(
      "--mqtt-job-qos <0|1>",
      "QoS of jobs and cancels sent to every worker: 1 queues them for offline persistent sessions, 0 saves a PUBACK per delivery (those sent to a --fanout subset go at 0)",
      String(MQTT_DEFAULTS.jobQos),
    )
    .option(
      "--fanout <n>",
      "workers each job is sent to first, chosen at random, when more listen (0 = every job to every worker)",
      String(FAN_OUT_DEFAULTS.size),
    )
    .option(
      "--fanout-escalate-ms <ms>",
      "a job not solved this long after it went out is sent to as many workers again",
      String(FAN_OUT_DEFAULTS.escalateMs),
    );
}

function count(text: string, flag: string, min: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`${flag} must be a whole number >= ${min}, got "${text}"`);
  return n;
}

/** The broker settings; the sessions file defaults to one beside the SQLite ledger (`db`). */
export function mqttSettings(flags: MqttFlags, db: string): MqttSettings {
  return {
    sessionsFile: flags.mqttSessions ?? `${db}.mqtt-sessions`,
    sessionExpiryMs: parseDuration(flags.mqttSessionExpiry, "--mqtt-session-expiry"),
    maxSessions: count(flags.mqttMaxSessions, "--mqtt-max-sessions", 1),
    queueLimit: count(flags.mqttQueueLimit, "--mqtt-queue-limit", 1),
    maxConnectionsPerIp: count(flags.mqttMaxPerIp, "--mqtt-max-per-ip", 0),
    maxConnections:
      flags.mqttMaxConnections === undefined
        ? undefined
        : count(flags.mqttMaxConnections, "--mqtt-max-connections", 0),
    jobQos: jobQos(flags.mqttJobQos),
    fanOut: {
      size: count(flags.fanout, "--fanout", 0),
      escalateMs: count(flags.fanoutEscalateMs, "--fanout-escalate-ms", 1),
    },
  };
}

function jobQos(text: string): 0 | 1 {
  if (text === "0" || text === "1") return Number(text) as 0 | 1;
  throw new UsageError(`--mqtt-job-qos must be 0 or 1, got "${text}"`);
}
