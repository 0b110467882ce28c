import type { Schema } from "../sql/migrations.js";

/**
 * The payouts tables, next to the hub's in the same database; their own record table, so the two
 * modules evolve apart. Items keep the order their plan listed them in (`insertionOrder`).
 */
export const PAYOUT_SCHEMA: Schema = {
  table: "payout_migrations",
  migrations: [
    // IF NOT EXISTS: releases before this record created these tables idempotently, unrecorded.
    (t) => `
      CREATE TABLE IF NOT EXISTS payout_plans (
        id             TEXT PRIMARY KEY,
        created_at     ${t.bigint} NOT NULL,
        budget         TEXT NOT NULL,
        through_win_id ${t.bigint} NOT NULL,
        status         TEXT NOT NULL CHECK (status IN ('open', 'complete', 'superseded')),
        completed_at   ${t.bigint},
        payer          TEXT,
        skipped        TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS payout_items (
        ${t.insertionOrderColumn}
        plan_id           TEXT NOT NULL REFERENCES payout_plans (id),
        worker            TEXT NOT NULL,
        amount            TEXT NOT NULL,
        precache          INTEGER NOT NULL,
        ondemand          INTEGER NOT NULL,
        weight            TEXT NOT NULL,
        snapshot_precache INTEGER NOT NULL,
        snapshot_ondemand INTEGER NOT NULL,
        status            TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'paid')),
        block_hash        TEXT,
        block_json        TEXT,
        paid_at           ${t.bigint},
        PRIMARY KEY (plan_id, worker)
      );
      CREATE INDEX IF NOT EXISTS payout_items_worker ON payout_items (worker);`,
  ],
};
