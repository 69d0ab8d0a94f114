import { createHash, randomBytes } from 'node:crypto';
import type pg from 'pg';
import { LlmStateError } from '../errors.js';
import { createPostgresBackend, type PostgresBackend } from './PostgresBackend.js';
import { RAW_TYPES, resultsOf } from './postgresConnections.js';
import { applicationName, describePostgresLocation, resolvePostgresOptions, type PostgresOptions, type ResolvedPostgresOptions } from './postgresOptions.js';
import { OUTCOME_DEADLINE_MS, resolveOutcome, transactionStatus } from './postgresOutcome.js';
import { schemaLockKey } from './postgresSchema.js';
import { announcementOfEverything } from './postgresAnnouncements.js';
import { integerLiteral, table } from './postgresSql.js';
import { loadPg } from './pgDriver.js';

/**
 * A full restore on PostgreSQL builds the restored store in a schema of its own beside the active one,
 * `<schema>_restore_<tail>`, and switches to it in one transaction: the active store's tables are
 * dropped and the staged ones moved into its schema. A crash before that transaction commits leaves the
 * active store as it was, and a staged schema, which the next open or restore of the store drops.
 */

/** How long the switch waits for other connections' transactions on the active store before it gives up. */
const SWITCH_LOCK_TIMEOUT_MS = 10_000;
/** The staged store needs few connections: the restore writes its batches one at a time. */
const STAGED_POOL_SIZE = 2;
const TABLES = ['records', 'commit_sequence', 'leases', 'migrations'] as const;
/** Leases named in a refusal, at most: the message says how many more there are. */
const HOLDERS_NAMED = 10;

/** The comment that marks a schema as a staged restore of `schema`: what finds it again if the restore dies. */
function stagingMark(schema: string): string {
  return `llmstate restore staging of schema ${schema}`;
}

/**
 * The session lock a restore holds on its staged schema while it builds it. A schema marked as staging
 * whose lock is free belongs to a restore that died.
 */
function stagingLockKey(staged: string): bigint {
  return createHash('sha256').update(`llmstate restore staging ${staged}`).digest().readBigInt64BE(0);
}

/** `<schema>_restore_<tail>`, the schema's name shortened as needed to keep within PostgreSQL's 63 bytes. */
function stagedSchemaName(schema: string): string {
  const tail = randomBytes(5).toString('hex');
  return `${schema.slice(0, 63 - '_restore_'.length - tail.length)}_restore_${tail}`;
}

/** A lease another process holds on the store, as a refusal names it. */
export interface LiveLease {
  owner: string;
  resource: string;
  /** ms since the epoch, by the database's clock. */
  expiresAt: number;
}

export interface PostgresStagingOptions {
  /** The backup being restored, for messages. */
  backupId: string;
  /** The lease owner of the runtime that restores: its own leases do not count as another process's. */
  owner?: string;
}

/**
 * The store a full restore builds, in a staged schema, and the switch to it.
 *
 * Create it with {@link stagePostgresStore}. It holds one connection of its own (`control`), which holds
 * the staging lock until the store is activated or discarded. @internal
 */
export class PostgresStaging {
  /** The staged store, open and empty at first. */
  readonly storage: PostgresBackend;
  /** The name of the staged schema. */
  readonly schema: string;
  readonly #options: ResolvedPostgresOptions;
  readonly #given: PostgresOptions;
  readonly #staging: PostgresStagingOptions;
  readonly #control: pg.Client;
  #state: 'staged' | 'active' | 'discarded' = 'staged';

  constructor(given: PostgresOptions, staging: PostgresStagingOptions, schema: string, storage: PostgresBackend, control: pg.Client) {
    this.#given = given;
    this.#options = resolvePostgresOptions(given);
    this.#staging = staging;
    this.schema = schema;
    this.storage = storage;
    this.#control = control;
  }

  get #location(): string {
    return describePostgresLocation(this.#options.connectionString, this.#options.schema);
  }

  /**
   * Refuses the restore while other processes hold live leases on the active store.
   *
   * @throws {RESTORE_FAILED} naming the processes and the scopes they hold.
   */
  async checkAlone(): Promise<void> {
    const leases = await liveLeasesOfOthers(this.#control, this.#options.schema, this.#staging.owner);
    if (leases.length > 0) throw othersLive(this.#staging.backupId, this.#location, leases);
  }

  /**
   * Makes the staged store the active one, in one transaction: under the store's schema lock (which
   * opens take too) and exclusive locks on its tables, it checks again that no other process holds a
   * live lease, carries the leases over with their epochs raised, so that every hold taken before fails
   * its fence, raises the staged commit counter to at least `lastSeq` and the active one's, drops the
   * active store's tables and moves the staged ones into its schema. Returns the store open there.
   *
   * @param lastSeq the highest commit sequence the staged store holds (the restore's own commit).
   * @throws {RESTORE_FAILED} when other processes hold live leases, or the switch could not take its
   * locks in time; nothing is changed.
   */
  async activate(lastSeq: number): Promise<PostgresBackend> {
    if (this.#state !== 'staged') throw new Error(`The staged store ${this.schema} was ${this.#state} already`);
    // Opened on the active schema before the switch, so that nothing after the switch can fail to open it.
    // Its statements name tables by schema and name, which PostgreSQL resolves again after the switch.
    const next = createPostgresBackend(this.#given);
    await next.open();
    try {
      await this.storage.close();
      await this.#switch(lastSeq);
    } catch (error) {
      await next.close();
      throw error;
    }
    this.#state = 'active';
    await endQuietly(this.#control);
    return next;
  }

  /** Closes the staged store and drops its schema, unless it was activated. */
  async discard(): Promise<void> {
    if (this.#state !== 'staged') return;
    this.#state = 'discarded';
    await this.storage.close();
    try {
      await this.#control.query(`DROP SCHEMA IF EXISTS "${this.schema}" CASCADE`);
    } finally {
      // Ending the connection frees the staging lock: if the drop failed, the next open drops the schema.
      await endQuietly(this.#control);
    }
  }

  async #switch(lastSeq: number): Promise<void> {
    const { schema } = this.#options;
    const staged = this.schema;
    const control = this.#control;
    let xid: string;
    let leases: LiveLease[];
    try {
      const begun = resultsOf(
        await control.query(
          [
            'BEGIN',
            `SET LOCAL lock_timeout = ${integerLiteral(SWITCH_LOCK_TIMEOUT_MS)}`,
            `SELECT pg_advisory_xact_lock(${schemaLockKey(schema)})`,
            // Waits for the transactions under way on the active store, and holds off new ones to the end.
            `LOCK TABLE ${TABLES.map((name) => table(schema, name)).join(', ')} IN ACCESS EXCLUSIVE MODE`,
            'SELECT pg_current_xact_id()::text AS xid',
          ].join('; '),
        ),
      );
      xid = (begun.at(-1)!.rows[0] as { xid: string }).xid;
      leases = await liveLeasesOfOthers(control, schema, this.#staging.owner);
    } catch (error) {
      return this.#rollBack(error);
    }
    if (leases.length > 0) return this.#rollBack(othersLive(this.#staging.backupId, this.#location, leases));
    const statements = [
      `INSERT INTO ${table(staged, 'leases')} (resource, owner, epoch, expires_at) SELECT resource, owner, epoch + 1, '-infinity' FROM ${table(schema, 'leases')}`,
      `UPDATE ${table(staged, 'commit_sequence')} SET seq = GREATEST(seq, ${integerLiteral(lastSeq)}, (SELECT seq FROM ${table(schema, 'commit_sequence')}))`,
      // Tables, not the schema: whatever else the schema holds, and the grants on it, stay as they are.
      `DROP TABLE ${TABLES.map((name) => table(schema, name)).join(', ')}`,
      ...TABLES.map((name) => `ALTER TABLE ${table(staged, name)} SET SCHEMA "${schema}"`),
      `DROP SCHEMA "${staged}"`,
      // The other processes' grants, quarantines, sessions and hook registrations are those of the store replaced.
      announcementOfEverything(schema),
      'COMMIT',
    ];
    const pid = (control as unknown as { processID?: number }).processID;
    try {
      await control.query(statements.join('; '));
    } catch (error) {
      await this.#settleSwitch(error, xid, pid);
    }
  }

  /** Ends the switch's transaction, and throws why: as RESTORE_FAILED when a lock was not had in time. */
  async #rollBack(error: unknown): Promise<never> {
    await this.#control.query('ROLLBACK').catch(() => {
      // A connection that failed took the transaction with it.
    });
    if ((error as { code?: unknown }).code === '55P03') {
      throw new LlmStateError(
        'RESTORE_FAILED',
        `Restoring backup ${this.#staging.backupId} into ${this.#location} waited more than ${SWITCH_LOCK_TIMEOUT_MS / 1000} s for other connections ` +
          'to finish their transactions on the store (another process reading or writing it): stop the other processes, then restore again. Nothing was changed',
        { cause: error, details: { location: this.#location, reason: 'lock_timeout' } },
      );
    }
    throw error;
  }

  /** After the switch's last round trip failed: rolled back, or, if the connection was lost, whatever the server says became of it. */
  async #settleSwitch(error: unknown, xid: string, pid: number | undefined): Promise<void> {
    let answered = true;
    await this.#control.query('ROLLBACK').catch(() => (answered = false));
    // A connection that still answers saw a statement fail, and the COMMIT after it never ran.
    if (answered) throw error;
    const config = { connectionString: this.#options.connectionString, types: RAW_TYPES };
    const outcome = await resolveOutcome(() => transactionStatus(config, xid, pid), { deadlineMs: OUTCOME_DEADLINE_MS });
    if (outcome === 'committed') return;
    if (outcome === 'aborted') throw error;
    throw new LlmStateError(
      'RESTORE_FAILED',
      `The connection to ${this.#location} was lost while the restore of backup ${this.#staging.backupId} switched stores, and whether the switch ` +
        `committed could not be learnt within ${OUTCOME_DEADLINE_MS / 1000} s: close the runtime and open it again, then check which state it holds`,
      { cause: error, details: { location: this.#location, outcome: 'unknown', xid } },
    );
  }
}

/**
 * Creates a staged store for a full restore of the store at `options`, in a new schema beside its own.
 * Drops first what restores that died left behind.
 *
 * @throws {STORAGE_FAILED} when the schema cannot be created or opened. @internal
 */
export async function stagePostgresStore(options: PostgresOptions, staging: PostgresStagingOptions): Promise<PostgresStaging> {
  const resolved = resolvePostgresOptions(options);
  const control = await connect(resolved);
  const name = stagedSchemaName(resolved.schema);
  let created = false;
  try {
    // Left to the next open when it fails: it must not stand in the way of this restore.
    await dropAbandonedStagings(control, resolved.schema).catch(() => []);
    // Taken before the schema exists, so that no schema marked as staging is ever without it while in use.
    await control.query(`SELECT pg_advisory_lock(${stagingLockKey(name)})`);
    await control.query(`CREATE SCHEMA "${name}"; COMMENT ON SCHEMA "${name}" IS '${stagingMark(resolved.schema)}'`);
    created = true;
    const storage = createPostgresBackend({ ...options, schema: name, poolSize: STAGED_POOL_SIZE });
    await storage.open();
    return new PostgresStaging(options, staging, name, storage, control);
  } catch (error) {
    if (created) await control.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`).catch(() => {});
    await endQuietly(control);
    if (error instanceof LlmStateError) throw error;
    const location = describePostgresLocation(resolved.connectionString, resolved.schema);
    throw new LlmStateError('STORAGE_FAILED', `Cannot create a schema beside ${location} to restore into: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Drops the staged schemas of restores of the store at `options` that died part way (their staging lock
 * is free), and returns their names. A restore under way elsewhere keeps its own. @internal
 */
export async function removeAbandonedStagings(options: PostgresOptions): Promise<string[]> {
  const resolved = resolvePostgresOptions(options);
  const control = await connect(resolved);
  try {
    return await dropAbandonedStagings(control, resolved.schema);
  } finally {
    await endQuietly(control);
  }
}

async function dropAbandonedStagings(control: pg.Client, schema: string): Promise<string[]> {
  const found = await control.query<{ name: string }>(
    "SELECT nspname::text AS name FROM pg_namespace WHERE obj_description(oid, 'pg_namespace') = $1 ORDER BY nspname",
    [stagingMark(schema)],
  );
  const dropped: string[] = [];
  for (const { name } of found.rows) {
    const [, locked] = resultsOf(await control.query(`BEGIN; SELECT pg_try_advisory_xact_lock(${stagingLockKey(name)}) AS free`));
    try {
      if ((locked.rows[0] as { free: string }).free === 't') {
        await control.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
        dropped.push(name);
      }
      await control.query('COMMIT');
    } catch (error) {
      await control.query('ROLLBACK').catch(() => {});
      throw error;
    }
  }
  return dropped;
}

/** The leases on the store at `schema` that are live and not `owner`'s. */
async function liveLeasesOfOthers(control: pg.Client, schema: string, owner: string | undefined): Promise<LiveLease[]> {
  const result = await control.query<{ owner: string; resource: string; expires_ms: string }>(
    `SELECT owner, resource, (extract(epoch FROM expires_at) * 1000)::float8::text AS expires_ms FROM ${table(schema, 'leases')} ` +
      'WHERE expires_at > now() AND owner IS DISTINCT FROM $1 ORDER BY owner, resource',
    [owner ?? null],
  );
  return result.rows.map((row) => ({ owner: row.owner, resource: row.resource, expiresAt: Number(row.expires_ms) }));
}

function othersLive(backupId: string, location: string, leases: readonly LiveLease[]): LlmStateError {
  const byOwner = new Map<string, string[]>();
  for (const lease of leases) byOwner.set(lease.owner, [...(byOwner.get(lease.owner) ?? []), lease.resource]);
  const named = leases.length > HOLDERS_NAMED ? `; ${leases.length - HOLDERS_NAMED} more` : '';
  let left = HOLDERS_NAMED;
  const holders = [...byOwner].flatMap(([owner, resources]) => {
    if (left <= 0) return [];
    const shown = resources.slice(0, left);
    left -= shown.length;
    return [`${owner} (${shown.join(', ')})`];
  });
  return new LlmStateError(
    'RESTORE_FAILED',
    `Cannot restore backup ${backupId} into ${location}: other processes are using the store, and a full restore replaces it under every ` +
      `process. Live leases: ${holders.join(', ')}${named}. Stop those processes (or wait for their leases to expire), then restore again. ` +
      'Nothing was changed',
    { details: { location, reason: 'store_in_use', leases: leases.map((lease) => ({ ...lease })) } },
  );
}

async function connect(options: ResolvedPostgresOptions): Promise<pg.Client> {
  const { Client } = await loadPg();
  const client = new Client({ connectionString: options.connectionString, application_name: applicationName(options.schema), types: RAW_TYPES });
  client.on('error', () => {
    // A connection lost while held fails the next statement on it, which reports it.
  });
  await client.connect();
  return client;
}

async function endQuietly(client: pg.Client): Promise<void> {
  await client.end().catch(() => {
    // The connection is gone already; so is its session lock.
  });
}

