import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { AnnouncementListener } from './postgresAnnouncements.js';
import { createPool, HeldConnection, RAW_TYPES } from './postgresConnections.js';
import { PostgresCommit, type CommitContext } from './PostgresCommit.js';
import { acquireLease, listLeases, releaseLeases, renewLeases } from './postgresLeases.js';
import { applicationName, describePostgresLocation, resolvePostgresOptions, type PostgresOptions, type ResolvedPostgresOptions } from './postgresOptions.js';
import { OUTCOME_DEADLINE_MS } from './postgresOutcome.js';
import { keyRange, PAGE_SIZE, pageQuery, readPages } from './postgresPages.js';
import { migrateSchema } from './postgresSchema.js';
import { beginReadSnapshot, PostgresSnapshot } from './PostgresSnapshot.js';
import { table, writeAndCommit } from './postgresSql.js';
import {
  StorageBackend,
  type BatchOp,
  type BatchOptions,
  type CommitOptions,
  type Entry,
  type ForeignChange,
  type LeaseAttempt,
  type LeaseHold,
  type LeaseRecord,
  type RangeOptions,
  type ReadOptions,
  type StorageSnapshot,
  type SublevelName,
} from './StorageBackend.js';

export type { PostgresOptions } from './postgresOptions.js';

/** Writes have a small pool of their own, so that reads and iterations held open never starve commits. */
const WRITE_CONNECTIONS = 2;

interface Pools {
  read: pg.Pool;
  write: pg.Pool;
}

/**
 * A {@link StorageBackend} over PostgreSQL, which several processes may share (DESIGN §17). Every
 * namespace is rows of one table, `records(sublevel, key, value)`; a batch is one transaction, and commits
 * take their sequence from one row that orders them across processes.
 */
export class PostgresBackend extends StorageBackend {
  readonly location: string;
  readonly #options: ResolvedPostgresOptions;
  #pools: Pools | undefined;
  readonly #snapshots = new Set<PostgresSnapshot>();
  /** The connections of iterations under way, each in its own snapshot. */
  readonly #iterations = new Set<HeldConnection>();
  /** Names this store in the announcements of its commits, so that its own watch skips them. */
  readonly #announcedAs = randomUUID();
  readonly #listeners = new Set<AnnouncementListener>();

  constructor(options: PostgresOptions) {
    super();
    this.#options = resolvePostgresOptions(options);
    this.location = describePostgresLocation(this.#options.connectionString, this.#options.schema);
  }

  override get shared(): boolean {
    return true;
  }

  get #schema(): string {
    return this.#options.schema;
  }

  get #open(): Pools {
    if (this.#pools === undefined) throw new Error(`The store at ${this.location} is not open`);
    return this.#pools;
  }

  get #clientConfig(): pg.ClientConfig {
    return { connectionString: this.#options.connectionString, application_name: applicationName(this.#schema), types: RAW_TYPES };
  }

  get #commitContext(): CommitContext {
    return { schema: this.#schema, location: this.location, outcomeConfig: this.#clientConfig, outcomeDeadlineMs: OUTCOME_DEADLINE_MS, announcedAs: this.#announcedAs };
  }

  protected async _open(): Promise<void> {
    const pools: Pools = {
      read: await createPool({ ...this.#clientConfig, max: this.#options.poolSize }),
      // A write transaction whose client vanished holds its row locks, commit_sequence's among them, until
      // the server ends it: this bounds how long.
      write: await createPool({ ...this.#clientConfig, max: WRITE_CONNECTIONS, idle_in_transaction_session_timeout: this.#options.idleInTransactionMs }),
    };
    try {
      const held = await HeldConnection.take(pools.write);
      try {
        const run = async (text: string, values?: unknown[]) => (await held.query({ text, values }))[0];
        await migrateSchema(run, this.#schema, this.location);
        held.release();
      } catch (err) {
        held.release(err);
        throw err;
      }
    } catch (err) {
      await endPools(pools);
      throw err;
    }
    this.#pools = pools;
  }

  protected async _close(): Promise<void> {
    const pools = this.#open;
    this.#pools = undefined;
    await Promise.all([...this.#listeners].map((listener) => listener.stop()));
    this.#listeners.clear();
    await Promise.all([...this.#snapshots].map((snapshot) => snapshot.close()));
    // An iteration still under way fails at its next page, rather than keep the pools from ending.
    for (const held of this.#iterations) held.release(new Error(`The store at ${this.location} was closed`));
    this.#iterations.clear();
    await endPools(pools);
  }

  protected async _get(sublevel: SublevelName, key: Buffer, options: ReadOptions): Promise<Buffer | undefined> {
    const query: pg.QueryConfig = {
      name: 'llmstate_get',
      text: `SELECT value FROM ${table(this.#schema, 'records')} WHERE sublevel = $1 AND key = $2`,
      values: [sublevel, key],
    };
    const result = options.snapshot === undefined ? await this.#open.read.query(query) : await this.#onSnapshot(options.snapshot, query);
    return result.rows[0]?.value;
  }

  protected async _batch(ops: readonly BatchOp[], options: BatchOptions): Promise<void> {
    // Built first, so that a batch with a bad operation costs no round trip.
    const statements = writeAndCommit(this.#schema, ops, options.sync === true, this.#announcedAs);
    await this.#afterStartingSnapshots();
    const commit = await PostgresCommit.begin(this.#open.write, this.#commitContext, undefined, options);
    await commit.commit(statements, ops.length);
  }

  protected override async _beginCommit(previous: number, options: CommitOptions): Promise<PostgresCommit> {
    await this.#afterStartingSnapshots();
    return PostgresCommit.begin(this.#open.write, this.#commitContext, previous, options);
  }

  protected async *_iterator(sublevel: SublevelName, options: RangeOptions): AsyncGenerator<Entry> {
    const range = keyRange(sublevel, options);
    if (range.limit === 0) return;
    const { snapshot } = options;
    if (snapshot !== undefined) {
      yield* readPages((query) => this.#onSnapshot(snapshot, query), this.#schema, range);
      return;
    }
    const size = Math.min(range.limit ?? PAGE_SIZE, PAGE_SIZE);
    const first = await this.#open.read.query(pageQuery(this.#schema, range, size));
    if (first.rows.length < size || range.limit === size) {
      for (const row of first.rows) yield [row.key, row.value];
      return;
    }
    // More may follow. Every page, the first again, is read from one snapshot: pages from two points in
    // time could hold a state of the store that never was.
    const held = await HeldConnection.take(this.#open.read);
    this.#iterations.add(held);
    try {
      await held.query(beginReadSnapshot(this.#options.idleInTransactionMs));
      yield* readPages(async (query) => (await held.query(query))[0], this.#schema, range);
    } finally {
      this.#iterations.delete(held);
      // Read only: a COMMIT that fails loses nothing, and finish() drops the connection.
      await held.finish('COMMIT').catch(() => {});
    }
  }

  protected _snapshot(): StorageSnapshot {
    const snapshot = new PostgresSnapshot(this.#open.read, this.#options.idleInTransactionMs, (closed) => this.#snapshots.delete(closed));
    this.#snapshots.add(snapshot);
    return snapshot;
  }

  protected override async _approximateSize(): Promise<number> {
    const sizes = ['records', 'commit_sequence', 'leases', 'migrations'].map((name) => `pg_total_relation_size('${table(this.#schema, name)}')`);
    const result = await this.#open.read.query<{ bytes: string }>(`SELECT (${sizes.join(' + ')})::text AS bytes`);
    return Number(result.rows[0].bytes);
  }

  protected override async _watchForeignChanges(listener: (change: ForeignChange) => void): Promise<() => Promise<void>> {
    const watch = new AnnouncementListener(this.#clientConfig, this.#schema, this.#announcedAs, listener);
    await watch.start();
    this.#listeners.add(watch);
    return async () => {
      this.#listeners.delete(watch);
      await watch.stop();
    };
  }

  protected override async _acquireLease(resource: string, owner: string, ttlMs: number): Promise<LeaseAttempt> {
    checkLease(resource, owner, ttlMs);
    return acquireLease(this.#open.write, this.#schema, resource, owner, ttlMs);
  }

  protected override async _renewLeases(holds: readonly LeaseHold[], ttlMs: number): Promise<LeaseHold[]> {
    checkTtl(ttlMs);
    return renewLeases(this.#open.write, this.#schema, holds, ttlMs);
  }

  protected override async _releaseLeases(holds: readonly LeaseHold[]): Promise<void> {
    await releaseLeases(this.#open.write, this.#schema, holds);
  }

  protected override async _listLeases(prefix: string): Promise<{ leases: LeaseRecord[]; readAt: number }> {
    return listLeases(this.#open.write, this.#schema, prefix);
  }

  /** Runs a read on the connection of a snapshot of this store. */
  async #onSnapshot(snapshot: StorageSnapshot, query: pg.QueryConfig): Promise<pg.QueryResult> {
    if (!(snapshot instanceof PostgresSnapshot) || !this.#snapshots.has(snapshot)) {
      throw new TypeError(`Expected an open snapshot taken from the store at ${this.location}`);
    }
    return (await (await snapshot.connection()).query(query))[0];
  }

  /** A batch issued after snapshot() returned must not be seen by it, so it waits for the snapshot to be fixed. */
  async #afterStartingSnapshots(): Promise<void> {
    if (this.#snapshots.size > 0) await Promise.all([...this.#snapshots].map((snapshot) => snapshot.started));
  }
}

async function endPools(pools: Pools): Promise<void> {
  await Promise.all([pools.read.end(), pools.write.end()]);
}

function checkTtl(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) throw new TypeError(`Expected \`ttlMs\` to be a positive integer, got \`${String(ttlMs)}\` (${typeof ttlMs})`);
}

function checkLease(resource: string, owner: string, ttlMs: number): void {
  if (typeof resource !== 'string' || resource === '') throw new TypeError(`Expected \`resource\` to be a non-empty string, got \`${String(resource)}\` (${typeof resource})`);
  if (typeof owner !== 'string' || owner === '') throw new TypeError(`Expected \`owner\` to be a non-empty string, got \`${String(owner)}\` (${typeof owner})`);
  checkTtl(ttlMs);
}

/**
 * A store in a PostgreSQL database, which several runtimes in several processes may share.
 *
 * @example
 * const storage = createPostgresBackend({ connectionString: process.env.DATABASE_URL! });
 * await storage.open();
 * @throws {TypeError} when an option is invalid.
 */
export function createPostgresBackend(options: PostgresOptions): PostgresBackend {
  return new PostgresBackend(options);
}
