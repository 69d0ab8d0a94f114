import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { postgresTestUrl } from '../support/postgres.js';
import { createPostgresBackend, type PostgresBackend, type PostgresOptions } from '../../src/storage/PostgresBackend.js';

/** The server the PostgreSQL tests run against (their suites are registered with describePostgres). */
export function testPostgresUrl(): string {
  const url = postgresTestUrl();
  if (url === undefined) throw new Error('LLMSTATE_TEST_POSTGRES_URL is not set; register PostgreSQL tests with describePostgres');
  return url;
}

/**
 * Fresh schemas for one test file, each dropped by {@link dropAll}, and an administrator's connection to
 * look at and disturb the server from outside the backends under test.
 */
export class TestSchemas {
  readonly #created = new Set<string>();
  readonly #schemaOf = new WeakMap<object, string>();
  readonly #opened: PostgresBackend[] = [];
  #admin: pg.Client | undefined;

  /** A schema name no other test uses. */
  fresh(): string {
    const schema = `pgb_${process.pid}_${randomBytes(6).toString('hex')}`;
    this.#created.add(schema);
    return schema;
  }

  /** An unopened backend over `schema` (a fresh one by default). */
  backend(schema = this.fresh(), options: Partial<PostgresOptions> = {}): PostgresBackend {
    this.#created.add(schema);
    const backend = createPostgresBackend({ connectionString: testPostgresUrl(), schema, ...options });
    this.#schemaOf.set(backend, schema);
    return backend;
  }

  /** A new backend over the schema of `backend`, as another process would open it. */
  again(backend: object, options: Partial<PostgresOptions> = {}): PostgresBackend {
    const schema = this.#schemaOf.get(backend);
    if (schema === undefined) throw new Error('Expected a backend made by these test schemas');
    return this.backend(schema, options);
  }

  /** Opens `backend`, to be closed by {@link closeOpened}. */
  async open(backend: PostgresBackend): Promise<PostgresBackend> {
    this.#opened.push(backend);
    await backend.open();
    return backend;
  }

  /** Closes every backend opened through {@link open}. */
  async closeOpened(): Promise<void> {
    for (const backend of this.#opened.splice(0)) await backend.close();
  }

  async admin(): Promise<pg.Client> {
    if (this.#admin === undefined) {
      const client = new pg.Client({ connectionString: testPostgresUrl(), application_name: 'pgb-test-admin' });
      client.on('error', () => {});
      await client.connect();
      this.#admin = client;
    }
    return this.#admin;
  }

  async query<Row extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<Row[]> {
    return (await (await this.admin()).query<Row>(text, values)).rows;
  }

  /** The states of the server connections of the backends over `schema`. */
  async connectionStates(schema: string): Promise<string[]> {
    const rows = await this.query<{ state: string }>('SELECT state FROM pg_stat_activity WHERE application_name = $1 ORDER BY state', [`llmstate:${schema}`]);
    return rows.map((row) => row.state);
  }

  async dropAll(): Promise<void> {
    for (const schema of this.#created) await this.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    this.#created.clear();
    await this.#admin?.end();
    this.#admin = undefined;
  }
}
