/**
 * Raw `pg`, the reference of PG: the same rows written into a table like the backend's `records`, over a
 * pool like the backend's write pool, with no sequence, no leases and no runtime.
 */
import pg from 'pg';
import type { LeaseHold } from '../src/storage/index.js';
import { eventLog, postgresSql, storage } from './subject.js';

/** The backend's own write pool has two connections (WRITE_CONNECTIONS in src/storage/PostgresBackend.ts). */
export const WRITE_POOL_SIZE = 2;

export interface Row {
  sublevel: 'state' | 'events';
  key: Buffer;
  value: Buffer;
}

const UPSERT = 'ON CONFLICT (sublevel, key) DO UPDATE SET value = excluded.value';

export class RawPg {
  readonly #pool: pg.Pool;
  readonly #records: string;

  private constructor(pool: pg.Pool, schema: string) {
    this.#pool = pool;
    this.#records = `"${schema}".records`;
  }

  /** Creates `schema` and its records table, as the backend's first migration does. */
  static async open(url: string, schema: string): Promise<RawPg> {
    const pool = new pg.Pool({ connectionString: url, max: WRITE_POOL_SIZE });
    try {
      await pool.query(`CREATE SCHEMA "${schema}"`);
      await pool.query(
        `CREATE TABLE "${schema}".records (sublevel text COLLATE "C" NOT NULL, key bytea NOT NULL, value bytea NOT NULL, PRIMARY KEY (sublevel, key))`,
      );
    } catch (error) {
      await pool.end();
      throw error;
    }
    return new RawPg(pool, schema);
  }

  /**
   * One set's rows, the state record and its event-log record, in one transaction and one round trip: a
   * prepared two-row upsert, sent as Bind/Execute/Sync and committed on its own.
   */
  async setPair(state: Row, event: Row): Promise<void> {
    await this.#pool.query({
      name: 'pair',
      text: `INSERT INTO ${this.#records} (sublevel, key, value) VALUES ('state', $1, $2), ('events', $3, $4) ${UPSERT}`,
      values: [state.key, state.value, event.key, event.value],
    });
  }

  /**
   * A batch of rows in one transaction and one round trip: one prepared upsert of arrays, whatever the
   * batch's size. The rows must not repeat a key: one statement cannot update a row twice.
   */
  async batch(rows: readonly Row[]): Promise<void> {
    await this.#pool.query({
      name: 'batch',
      text: `INSERT INTO ${this.#records} (sublevel, key, value) SELECT * FROM unnest($1::text[], $2::bytea[], $3::bytea[]) ${UPSERT}`,
      values: [rows.map((row) => row.sublevel), rows.map((row) => row.key), rows.map((row) => row.value)],
    });
  }

  close(): Promise<void> {
    return this.#pool.end();
  }
}

/**
 * Raw `pg` sending, for each commit, the very statements of the backend's sequenced commit
 * (src/storage/postgresSql.ts) in its two round trips, with the leases of its scopes to check: the
 * runtime's SQL without the runtime. The schema and the leases are made by the backend itself.
 */
export class BackendStatements {
  readonly #pool: pg.Pool;
  readonly #schema: string;
  readonly #holds: ReadonlyMap<string, LeaseHold>;
  #seq = 0;

  private constructor(pool: pg.Pool, schema: string, holds: ReadonlyMap<string, LeaseHold>) {
    this.#pool = pool;
    this.#schema = schema;
    this.#holds = holds;
  }

  /** Opens the backend on `schema` to make its tables, and takes the lease on each of `resources`. */
  static async open(url: string, schema: string, resources: readonly string[]): Promise<BackendStatements> {
    const backend = storage.createPostgresBackend({ connectionString: url, schema });
    await backend.open();
    const holds = new Map<string, LeaseHold>();
    try {
      const attempts = await Promise.all(resources.map((resource) => backend.acquireLease(resource, 'pgbench-raw', 3_600_000)));
      for (const attempt of attempts) {
        if (!attempt.acquired) throw new Error(`A lease in a fresh schema is held by ${attempt.owner}`);
        holds.set(attempt.hold.resource, attempt.hold);
      }
    } finally {
      await backend.close();
    }
    return new BackendStatements(new pg.Pool({ connectionString: url, max: WRITE_POOL_SIZE }), schema, holds);
  }

  /** `rows`, and `eventRecord` under the next sequence, as one commit fenced by the leases of `resources`. */
  async commit(rows: readonly Row[], eventRecord: Buffer, resources: Iterable<string>): Promise<void> {
    const fence = [...resources].map((resource) => this.#holds.get(resource)!);
    const client = await this.#pool.connect();
    try {
      await client.query(postgresSql.beginSequencedCommit(this.#schema, this.#seq, fence));
      this.#seq++;
      const ops = [...rows, { sublevel: 'events' as const, key: eventLog.encodeSeqKey(this.#seq), value: eventRecord }].map((row) => ({ type: 'put' as const, ...row }));
      await client.query(postgresSql.writeAndCommit(this.#schema, ops, false, 'raw'));
    } catch (error) {
      // Not back into the pool in the middle of a transaction.
      client.release(error as Error);
      throw error;
    }
    client.release();
  }

  close(): Promise<void> {
    return this.#pool.end();
  }
}
