import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import {
  POSTGRES_URL_VARIABLE,
  describePostgres,
  freshPostgresSchema,
  redactPostgresUrl,
  type PostgresTestSchema,
} from './postgres.js';

const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MOCHA = fileURLToPath(new URL('../../node_modules/mocha/bin/mocha.js', import.meta.url));
const FIXTURE = fileURLToPath(new URL('../fixtures/postgresHelperSuites.ts', import.meta.url));

interface MochaRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the fixture's two PostgreSQL suites in a child mocha, with CI and the server's URL as given. */
function runFixture(env: { CI?: string; url?: string }): Promise<MochaRun> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  delete childEnv.CI;
  delete childEnv[POSTGRES_URL_VARIABLE];
  if (env.CI !== undefined) childEnv.CI = env.CI;
  if (env.url !== undefined) childEnv[POSTGRES_URL_VARIABLE] = env.url;
  const args = ['--import', 'tsx', MOCHA, '--no-config', '--reporter', 'spec', '--timeout', '30000', FIXTURE];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd: PROJECT_ROOT, env: childEnv }, (err, stdout, stderr) => {
      if (err !== null && typeof err.code !== 'number') reject(err);
      else resolve({ code: err === null ? 0 : (err.code as number), stdout, stderr });
    });
  });
}

describe('the PostgreSQL test helper', () => {
  describe('what a PostgreSQL suite does with and without a server', () => {
    it('under CI=true without a server URL, fails and says that CI must provide a server', async () => {
      const run = await runFixture({ CI: 'true' });
      assert.notEqual(run.code, 0, 'the run fails');
      assert.match(run.stdout, /0 passing/);
      assert.match(run.stdout, /2 failing/, 'one failing test per suite');
      assert.match(run.stdout, /postgres: first fixture suite/);
      assert.match(run.stdout, /CI must provide a server\. \.ci\/run starts a throwaway one/);
      assert.doesNotMatch(run.stdout, /pending/);
    });

    it('locally without a server URL, leaves the tests pending and says once how to run them', async () => {
      const run = await runFixture({});
      assert.equal(run.code, 0, `the run passes:\n${run.stdout}${run.stderr}`);
      assert.match(run.stdout, /2 pending/);
      assert.match(run.stdout, /postgres: first fixture suite/);
      assert.match(run.stdout, /postgres: second fixture suite/);
      const notices = run.stderr.split('\n').filter((line) => line.startsWith('PostgreSQL tests skipped'));
      assert.deepEqual(notices, [
        `PostgreSQL tests skipped: ${POSTGRES_URL_VARIABLE} is not set. Run \`npm run test:pg\` (it starts a ` +
          `throwaway server), or set ${POSTGRES_URL_VARIABLE} to a server's URL.`,
      ]);
    });

    it('with the URL of a server that is not there, fails (does not skip) and names the URL without its password', async () => {
      const run = await runFixture({ url: 'postgres://tester:s3cret@127.0.0.1:1/postgres' });
      assert.notEqual(run.code, 0, 'the run fails');
      assert.match(run.stdout, /0 passing/);
      assert.match(run.stdout, /"before all" hook/);
      assert.match(
        run.stdout,
        /The PostgreSQL server at postgres:\/\/tester:\*\*\*@127\.0\.0\.1:1\/postgres \(LLMSTATE_TEST_POSTGRES_URL\) is unreachable/,
      );
      assert.doesNotMatch(run.stdout + run.stderr, /s3cret/);
      assert.doesNotMatch(run.stdout, /pending/);
    });
  });

  describe('redactPostgresUrl', () => {
    it('replaces the password in the authority or in the query with ***, and keeps the rest', () => {
      assert.equal(redactPostgresUrl('postgres://u:pw@db.local:5432/app'), 'postgres://u:***@db.local:5432/app');
      assert.equal(
        redactPostgresUrl('postgresql://u@db.local/app?password=pw&sslmode=require'),
        'postgresql://u@db.local/app?password=***&sslmode=require',
      );
      assert.equal(redactPostgresUrl('postgres://postgres@127.0.0.1:5432/postgres'), 'postgres://postgres@127.0.0.1:5432/postgres');
    });
  });

  describePostgres('freshPostgresSchema', () => {
    const schemas: PostgresTestSchema[] = [];

    function fresh(): PostgresTestSchema {
      const schema = freshPostgresSchema();
      schemas.push(schema);
      return schema;
    }

    afterEach(async () => {
      for (const schema of schemas.splice(0)) await schema.drop();
    });

    async function query(connectionString: string, sql: string, values: unknown[] = []): Promise<pg.QueryResult> {
      const client = new pg.Client({ connectionString });
      await client.connect();
      try {
        return await client.query(sql, values);
      } finally {
        await client.end();
      }
    }

    async function schemaExists(name: string): Promise<boolean> {
      const { rows } = await query(process.env[POSTGRES_URL_VARIABLE]!, 'SELECT 1 FROM pg_namespace WHERE nspname = $1', [name]);
      return rows.length === 1;
    }

    it('names a new schema on each call, t_<pid>_<counter>_<random>, and does not create it', async () => {
      const [a, b] = [fresh(), fresh()];
      assert.match(a.schema, new RegExp(`^t_${process.pid}_\\d+_[0-9a-f]{8}$`));
      assert.notEqual(a.schema, b.schema);
      assert.equal(await schemaExists(a.schema), false);
    });

    it('its connection string puts unqualified tables in its schema; drop removes the schema and its tables', async () => {
      const s = fresh();
      await s.create();
      await s.create();
      await query(s.connectionString, 'CREATE TABLE items (n int)');
      await query(s.connectionString, 'INSERT INTO items VALUES (7)');
      const { rows } = await query(
        s.connectionString,
        `SELECT current_schema() AS current, (SELECT n FROM ${s.schema}.items) AS n`,
      );
      assert.deepEqual(rows, [{ current: s.schema, n: 7 }]);

      await s.drop();
      assert.equal(await schemaExists(s.schema), false);
      await s.drop();
    });

    it('two schemas keep tables of the same name apart', async () => {
      const [a, b] = [fresh(), fresh()];
      for (const [s, n] of [[a, 1], [b, 2]] as const) {
        await s.create();
        await query(s.connectionString, 'CREATE TABLE items (n int)');
        await query(s.connectionString, 'INSERT INTO items VALUES ($1)', [n]);
      }
      assert.deepEqual((await query(a.connectionString, 'SELECT n FROM items')).rows, [{ n: 1 }]);
      assert.deepEqual((await query(b.connectionString, 'SELECT n FROM items')).rows, [{ n: 2 }]);
    });
  });
});
