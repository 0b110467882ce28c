import type pg from "pg";

/** A connection taken from the pool; release() hands it back, or discards it once it has failed. */
export interface CheckedOut {
  client: pg.PoolClient;
  release(): void;
}

/**
 * Takes one connection from `pool` for several statements. pg emits `error` on a checked-out
 * connection that the server ends between two statements (a PostgreSQL stopping sends 57P01 to
 * every session), and pg-pool listens only while a connection is idle or inside pool.query: with
 * no listener that error would crash the process. It is kept here instead, the statement under
 * way (or the next) fails with it, and the broken connection is discarded on release.
 */
export async function checkOut(pool: pg.Pool): Promise<CheckedOut> {
  const client = await pool.connect();
  let failure: Error | undefined;
  const onError = (err: Error) => {
    failure = err;
  };
  client.on("error", onError);
  return {
    client,
    release() {
      client.removeListener("error", onError);
      client.release(failure);
    },
  };
}
