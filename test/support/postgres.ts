import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * The PostgreSQL tests run against the server at this variable's URL. `npm run test:pg` (and `.ci/run`)
 * starts a throwaway server and sets it; see docs/testing.md.
 */
export const POSTGRES_URL_VARIABLE = 'LLMSTATE_TEST_POSTGRES_URL';

/** Every PostgreSQL suite's title starts with this, so that `mocha --grep 'postgres: '` runs them all. */
export const POSTGRES_TITLE_PREFIX = 'postgres: ';

const CONNECT_TIMEOUT_MS = 10_000;

/** The URL of the PostgreSQL server for the tests, or `undefined` when none is set. */
export function postgresTestUrl(): string | undefined {
  const url = process.env[POSTGRES_URL_VARIABLE];
  return url === undefined || url === '' ? undefined : url;
}

/**
 * A suite that needs a PostgreSQL server, titled `postgres: <title>`.
 *
 * - With LLMSTATE_TEST_POSTGRES_URL set, it runs, and fails (does not skip) if the server is unreachable.
 * - Without it, under `CI=true`, it is one failing test: CI must provide a server.
 * - Without it elsewhere, its tests are pending, and the process says once, on stderr, how to run them.
 */
export function describePostgres(title: string, fn: (this: Mocha.Suite) => void): void {
  const suiteTitle = POSTGRES_TITLE_PREFIX + title;
  const url = postgresTestUrl();
  if (url !== undefined) {
    describe(suiteTitle, function () {
      before(async function () {
        this.timeout(CONNECT_TIMEOUT_MS + 5_000);
        await serverReachable(url);
      });
      fn.call(this);
    });
  } else if (process.env.CI === 'true') {
    describe(suiteTitle, () => {
      it('has a PostgreSQL server to run against', () => {
        throw new Error(
          `${POSTGRES_URL_VARIABLE} is not set, and under CI=true the PostgreSQL tests must run, not skip: CI must ` +
            'provide a server. .ci/run starts a throwaway one with scripts/postgres-throwaway.sh and exports its URL; ' +
            `another CI can run its tests under \`bash scripts/with-postgres.sh <command>\`, or set ${POSTGRES_URL_VARIABLE} ` +
            'to the URL of a server it provides (postgres://user@host:port/database).',
        );
      });
    });
  } else {
    announceSkipOnce();
    describe.skip(suiteTitle, fn);
  }
}

/** A schema of its own for one test, on the server at LLMSTATE_TEST_POSTGRES_URL. */
export interface PostgresTestSchema {
  /** The server's URL with `search_path` set to `schema`, so that unqualified tables land in it. */
  readonly connectionString: string;
  /** `t_<pid>_<counter>_<random>`: unique across processes (mocha's parallel jobs) and calls. */
  readonly schema: string;
  /** Creates the schema, unless it exists. */
  create(): Promise<void>;
  /** Drops the schema and everything in it, if it exists. */
  drop(): Promise<void>;
}

let schemasNamed = 0;

/**
 * Names a schema no other test or process uses. It is not created: the code under test creates it, or
 * `create()` does. Call `drop()` when the test ends.
 */
export function freshPostgresSchema(): PostgresTestSchema {
  const url = postgresTestUrl();
  if (url === undefined) {
    throw new Error(
      `${POSTGRES_URL_VARIABLE} is not set: freshPostgresSchema() is for tests inside describePostgres(), which run only with a server.`,
    );
  }
  schemasNamed += 1;
  const schema = `t_${process.pid}_${schemasNamed}_${randomBytes(4).toString('hex')}`;
  return {
    connectionString: withSearchPath(url, schema),
    schema,
    create: () => runOn(url, `CREATE SCHEMA IF NOT EXISTS ${schema}`),
    drop: () => runOn(url, `DROP SCHEMA IF EXISTS ${schema} CASCADE`),
  };
}

/** The URL as it may be printed: its password, in the authority or in the query, replaced by `***`. */
export function redactPostgresUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    if (parsed.searchParams.has('password')) parsed.searchParams.set('password', '***');
    return parsed.href;
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@').replace(/password=\S*/g, 'password=***');
  }
}

let skipAnnounced = false;

function announceSkipOnce(): void {
  if (skipAnnounced) return;
  skipAnnounced = true;
  process.stderr.write(
    `PostgreSQL tests skipped: ${POSTGRES_URL_VARIABLE} is not set. Run \`npm run test:pg\` (it starts a throwaway ` +
      `server), or set ${POSTGRES_URL_VARIABLE} to a server's URL.\n`,
  );
}

const reachability = new Map<string, Promise<void>>();

function serverReachable(url: string): Promise<void> {
  let check = reachability.get(url);
  if (check === undefined) {
    check = runOn(url, 'SELECT 1').catch((err: unknown) => {
      const reason = err instanceof Error ? err.message : String(err);
      throw new Error(
        `The PostgreSQL server at ${redactPostgresUrl(url)} (${POSTGRES_URL_VARIABLE}) is unreachable: ${reason}. ` +
          `Start it, point ${POSTGRES_URL_VARIABLE} at a running server, or unset it and run \`npm run test:pg\`.`,
        { cause: err },
      );
    });
    reachability.set(url, check);
  }
  return check;
}

// Written out with encodeURIComponent, not URLSearchParams, so that libpq (psql) reads it too: it
// decodes `%20` but not `+`.
function withSearchPath(url: string, schema: string): string {
  const parsed = new URL(url);
  const options = [parsed.searchParams.get('options'), `-c search_path=${schema}`].filter((o) => o).join(' ');
  if (parsed.searchParams.has('options')) parsed.searchParams.delete('options');
  const rest = parsed.href;
  return `${rest}${parsed.search === '' ? '?' : '&'}options=${encodeURIComponent(options)}`;
}

async function runOn(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** One statement on the test server, on a connection of its own, outside any runtime. */
export async function postgresQuery<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: postgresTestUrl() });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** The schemas of staged restores of `schema` that are still there, by name. */
export async function stagedRestoreSchemas(schema: string): Promise<string[]> {
  const rows = await postgresQuery<{ name: string }>("SELECT nspname::text AS name FROM pg_namespace WHERE nspname LIKE $1 || '\\_restore\\_%' ORDER BY 1", [schema]);
  return rows.map((row) => row.name);
}
