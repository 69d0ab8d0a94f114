import type pg from 'pg';
import { HeldConnection } from './postgresConnections.js';
import { integerLiteral } from './postgresSql.js';
import type { StorageSnapshot } from './StorageBackend.js';

/**
 * Opens a read-only REPEATABLE READ transaction that the server ends after `idleMs` idle, so that one that
 * is never closed cannot hold its connection and old row versions forever.
 */
export function beginReadSnapshot(idleMs: number): string {
  return `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL idle_in_transaction_session_timeout = ${integerLiteral(idleMs)}`;
}

/**
 * A PostgreSQL snapshot is fixed by the first statement of its transaction, not by BEGIN, so one runs at
 * once: the snapshot is what the store held when it started.
 */
async function startSnapshot(pool: pg.Pool, idleMs: number): Promise<HeldConnection> {
  const held = await HeldConnection.take(pool);
  try {
    await held.query(`${beginReadSnapshot(idleMs)}; SELECT 1`);
  } catch (err) {
    held.release(err);
    throw err;
  }
  return held;
}

/**
 * A snapshot on a connection of its own. `snapshot()` is synchronous, so the transaction starts in the
 * background: reads through it wait for the start, and so do the store's writes (see `started`), so that a
 * snapshot never sees a batch issued after it was taken.
 */
export class PostgresSnapshot implements StorageSnapshot {
  readonly #connection: Promise<HeldConnection>;
  readonly #onClose: (snapshot: PostgresSnapshot) => void;
  #closed = false;
  /** Settles once the transaction has its snapshot, or has failed to start. */
  readonly started: Promise<void>;

  constructor(pool: pg.Pool, idleMs: number, onClose: (snapshot: PostgresSnapshot) => void) {
    this.#connection = startSnapshot(pool, idleMs);
    this.#onClose = onClose;
    this.started = this.#connection.then(
      () => undefined,
      () => undefined,
    );
  }

  /** The connection the snapshot's reads run on. */
  async connection(): Promise<HeldConnection> {
    if (this.#closed) throw new Error('The snapshot is closed');
    return this.#connection;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      const held = await this.#connection;
      // Read only: a COMMIT that fails loses nothing, and finish() drops the connection.
      await held.finish('COMMIT').catch(() => {});
    } catch {
      // It never started, so there is nothing to end; the reads through it reported why.
    } finally {
      this.#onClose(this);
    }
  }
}
