/**
 * The worker's MQTT client id: the same at every start for one payout address on one installation,
 * so that a restart resumes its persistent session instead of leaving one behind on the broker
 * (where it would hold queued jobs until it expires). It is a digest of a random installation id,
 * kept in the user's config folder, and the payout address, plus a slot number: a second worker
 * started on the same machine for the same address takes the next free slot (a lock file holding
 * its pid), so the two never log each other out.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { addressToPublicKey, publicKeyToAddress } from "../nano/account.js";

/** `$XDG_CONFIG_HOME/nano-dpow`, else `~/.config/nano-dpow`. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME?.trim() ? env.XDG_CONFIG_HOME : join(homedir(), ".config");
  return join(base, "nano-dpow");
}

export interface WorkerClientId {
  id: string;
  /** Frees the slot (the lock file); called when the worker stops. */
  release(): void;
}

/** Slots tried before giving up on a stable id: more workers than this for one address on one machine is odd. */
const MAX_SLOTS = 64;

/**
 * The stable client id for `payout` here, or null when the config folder cannot be written (then
 * the caller falls back to a random one).
 */
export function stableClientId(payout: string, dir: string = configDir()): WorkerClientId | null {
  try {
    makeFolder(dir);
    const installation = installationId(dir);
    // Keyed on the canonical nano_ form: xrb_ and nano_ spellings of one account are one worker.
    const account = publicKeyToAddress(addressToPublicKey(payout));
    const digest = createHash("sha256").update(`${installation}\n${account}`).digest("hex");
    for (let slot = 0; slot < MAX_SLOTS; slot++) {
      const lock = join(dir, `worker-${digest.slice(0, 16)}-${slot}.lock`);
      if (!takeLock(lock)) continue;
      // 23 characters at most: the limit MQTT 3.1 brokers impose.
      const id = `dpow-worker-${digest.slice(0, slot === 0 ? 11 : 8)}${slot === 0 ? "" : `-${slot}`}`;
      return { id: id.slice(0, 23), release: () => releaseLock(lock) };
    }
    return null;
  } catch {
    return null;
  }
}

/**
 * `mkdir -p`, one level at a time. Node's own recursive mkdir never returns where the kernel keeps
 * answering ENOENT for a folder it will not make (e.g. XDG_CONFIG_HOME under /proc): the worker hung
 * at start instead of falling back to a random client id.
 */
function makeFolder(dir: string): void {
  const missing: string[] = [];
  for (let at = resolve(dir); !existsSync(at); at = dirname(at)) {
    missing.push(at);
    if (dirname(at) === at) break;
  }
  for (const folder of missing.reverse()) {
    try {
      mkdirSync(folder, { mode: 0o700 });
    } catch (err) {
      // Another worker starting at the same moment made it first.
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
  }
}

function installationId(dir: string): string {
  const file = join(dir, "installation-id");
  try {
    const id = readFileSync(file, "utf8").trim();
    if (/^[0-9a-f]{32}$/.test(id)) return id;
  } catch {
    // absent: made below
  }
  const id = randomBytes(16).toString("hex");
  writeFileSync(file, `${id}\n`, { mode: 0o600 });
  return id;
}

/** Creates `lock` holding our pid, or takes it over from a process that no longer runs. */
function takeLock(lock: string): boolean {
  try {
    writeFileSync(lock, String(process.pid), { flag: "wx", mode: 0o600 });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  const holder = Number(readFileSync(lock, "utf8"));
  if (alive(holder)) return false;
  writeFileSync(lock, String(process.pid), { mode: 0o600 });
  return true;
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function releaseLock(lock: string): void {
  try {
    if (Number(readFileSync(lock, "utf8")) === process.pid) unlinkSync(lock);
  } catch {
    // already gone
  }
}
