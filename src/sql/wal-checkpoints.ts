/**
 * WAL checkpoints off the event loop. A SQLite connection checkpoints on the commit that takes the
 * WAL past 1,000 pages: it copies ~4 MB into the database file and fsyncs it, inside that commit,
 * on the thread that committed. On the hub that is the event loop, and every request waiting on it
 * stalls: at 200 on-demand wins a second, a ~10 ms stall every second or so, which doubled the
 * on-demand p99 (measured: 17-19 ms against 8-10 ms with checkpoints moved away). Here the hub's
 * connections stop checkpointing and a worker thread with a connection of its own does it once a
 * second (wal-checkpoint-thread.ts says how it keeps the WAL bounded under writes without pause).
 * Should that thread die, the connection checkpoints itself again.
 */
import { Worker } from "node:worker_threads";
import type Database from "better-sqlite3";
import { threadModuleUrl } from "../thread-module.js";

/** SQLite's own default: checkpoint when the WAL passes this many pages. */
const AUTOCHECKPOINT_PAGES = 1000;

export interface CheckpointOptions {
  /** How often the thread checkpoints. */
  everyMs: number;
  /** Past this many pages in the WAL (64 MB of 4 KiB pages) the thread empties it, waiting for the writer. */
  maxWalPages: number;
}

export const CHECKPOINT_DEFAULTS = { everyMs: 1000, maxWalPages: 16_384 } satisfies CheckpointOptions;

export class WalCheckpoints {
  private stopping = false;
  private readonly ended: Promise<void>;

  private constructor(private readonly thread: Worker) {
    this.ended = new Promise((resolve) => thread.once("exit", () => resolve()));
  }

  /** Moves the checkpoints of `db` (a connection to `file`, in WAL mode) to a thread. */
  static start(
    db: Database.Database,
    file: string,
    options: CheckpointOptions = CHECKPOINT_DEFAULTS,
  ): WalCheckpoints {
    const thread = new Worker(threadModuleUrl(import.meta.url, "wal-checkpoint-thread.js", "sql"), {
      workerData: { file, ...options },
    });
    // It must not keep a CLI process alive; close() ends it.
    thread.unref();
    db.pragma("wal_autocheckpoint = 0");
    const checkpoints = new WalCheckpoints(thread);
    const fallBack = () => {
      if (!checkpoints.stopping && db.open) db.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
    };
    thread.once("error", fallBack);
    thread.once("exit", fallBack);
    return checkpoints;
  }

  /** Resolves once the thread has ended: stopped, or failed (the connection checkpoints again). */
  stopped(): Promise<void> {
    return this.ended;
  }

  stop(): Promise<void> {
    this.stopping = true;
    // Referenced again: a process whose last task is this close must wait for the thread's exit.
    this.thread.ref();
    this.thread.postMessage("stop");
    return this.ended;
  }
}
