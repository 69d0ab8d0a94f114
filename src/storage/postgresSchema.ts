import { createHash } from 'node:crypto';
import type pg from 'pg';
import { LlmStateError } from '../errors.js';
import { table } from './postgresSql.js';

/**
 * The tables of a PostgreSQL store and their versions. A migration is only ever added at the end: the
 * version a database records says which of them it has.
 */
export const MIGRATIONS: ReadonlyArray<(schema: string) => string[]> = [
  (schema) => [
    // COLLATE "C": sublevel names compare bytewise, whatever the database's collation.
    `CREATE TABLE ${table(schema, 'records')} (sublevel text COLLATE "C" NOT NULL, key bytea NOT NULL, value bytea NOT NULL, PRIMARY KEY (sublevel, key))`,
    `CREATE TABLE ${table(schema, 'commit_sequence')} (one boolean PRIMARY KEY DEFAULT true CHECK (one), seq bigint NOT NULL)`,
    `INSERT INTO ${table(schema, 'commit_sequence')} (seq) VALUES (0)`,
    `CREATE TABLE ${table(schema, 'leases')} (resource text COLLATE "C" PRIMARY KEY, owner text NOT NULL, epoch bigint NOT NULL, expires_at timestamptz NOT NULL)`,
  ],
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Runs one statement on the connection of the migration. */
export type RunStatement = (text: string, values?: unknown[]) => Promise<pg.QueryResult>;

/**
 * The advisory lock that serialises the first opens of one schema by several processes. Derived from the
 * schema's name, so that stores in other schemas of the database open without waiting on each other.
 */
export function schemaLockKey(schema: string): bigint {
  return createHash('sha256').update(`llmstate schema ${schema}`).digest().readBigInt64BE(0);
}

/**
 * Creates the schema and its tables when missing, and applies the migrations it lacks, in one transaction
 * under the schema's advisory lock. Refuses a database written by a newer version of llmstate.
 *
 * @throws {STORAGE_FAILED} when the database's version is newer than this code knows.
 */
export async function migrateSchema(run: RunStatement, schema: string, location: string): Promise<void> {
  await run('BEGIN');
  try {
    await run(`SELECT pg_advisory_xact_lock(${schemaLockKey(schema)})`);
    const version = await recordedVersion(run, schema);
    if (version > SCHEMA_VERSION) {
      throw new LlmStateError(
        'STORAGE_FAILED',
        `The store at ${location} has tables of version ${version}, newer than the ${SCHEMA_VERSION} this version of llmstate knows. ` +
          'It was written by a newer llmstate: upgrade llmstate to open it. Nothing was changed',
        { details: { location, version, known: SCHEMA_VERSION } },
      );
    }
    for (let next = version + 1; next <= SCHEMA_VERSION; next++) {
      for (const statement of MIGRATIONS[next - 1](schema)) await run(statement);
      await run(`INSERT INTO ${table(schema, 'migrations')} (version, applied_at) VALUES (${next}, now())`);
    }
    await run('COMMIT');
  } catch (err) {
    await run('ROLLBACK').catch(() => {
      // The connection is gone, and the transaction with it; the error that stopped the migration says why.
    });
    throw err;
  }
}

/** The version the schema records, after creating the schema and its migrations table when missing. */
async function recordedVersion(run: RunStatement, schema: string): Promise<number> {
  const found = await run(
    `SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1) AS schema, to_regclass($2) IS NOT NULL AS migrations`,
    [schema, table(schema, 'migrations')],
  );
  // Values arrive as text (see RAW_TYPES).
  const hasSchema = found.rows[0].schema === 't';
  const hasMigrations = found.rows[0].migrations === 't';
  // Asked only when missing: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege even when it exists.
  if (!hasSchema) await run(`CREATE SCHEMA "${schema}"`);
  if (!hasMigrations) {
    await run(`CREATE TABLE ${table(schema, 'migrations')} (version int PRIMARY KEY, applied_at timestamptz NOT NULL)`);
    return 0;
  }
  const recorded = await run(`SELECT coalesce(max(version), 0)::text AS version FROM ${table(schema, 'migrations')}`);
  return Number(recorded.rows[0].version);
}
