import assert from 'node:assert/strict';
import fs from 'node:fs';
import { assertBuilt, assertFails, assertSucceeds, llmstate, removeTempDirs, tempDir, type CliResult } from './runCli.js';

/** A password that must never be printed back, in a URL that nothing listens at. */
const PASSWORD = 'pgcli-s3cret-pw';
const URL_WITH_PASSWORD = `postgres://ada:${PASSWORD}@127.0.0.1:1/app`;

/** Neither the environment of the test run nor of the developer may name a store for these tests. */
const NO_STORE_ENV = { LLMSTATE_POSTGRES_URL: undefined, LLMSTATE_PG_SCHEMA: undefined };

function run(args: readonly string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return llmstate(args, { env: { ...NO_STORE_ENV, ...env } });
}

function assertNoPassword(result: CliResult): void {
  assert.ok(!result.stdout.includes(PASSWORD) && !result.stderr.includes(PASSWORD), `the password is printed:\n${result.stdout}${result.stderr}`);
}

describe('llmstate --postgres: usage errors, found before anything connects', function () {
  this.timeout(60_000);
  before(assertBuilt);
  afterEach(() => removeTempDirs());

  it('--postgres with --data-dir is a usage error that names both, and creates nothing', async () => {
    const dir = tempDir();
    for (const args of [
      ['--postgres', URL_WITH_PASSWORD, '--data-dir', dir, 'set', 'global', 'k', '1'],
      ['--data-dir', dir, '--postgres', URL_WITH_PASSWORD, 'stats'],
      ['--data-dir', dir, '--postgres', URL_WITH_PASSWORD, 'demo'],
    ]) {
      const result = await run(args);
      assertFails(result, 2, 'error: --postgres and --data-dir each name a store: give one of them');
      assertNoPassword(result);
    }
    assert.deepEqual(fs.readdirSync(dir), [], 'nothing was created');
  });

  it('a URL that does not parse is a usage error that does not repeat it', async () => {
    for (const url of [`postgres://ada:${PASSWORD}@127.0.0.1:99999/app`, `postgres://ada:${PASSWORD}/x@db/app`]) {
      const result = await run(['--postgres', url, 'get', 'global', 'k']);
      assertFails(result, 2, 'error: --postgres is not a URL (it is not repeated here, since it may hold a password)');
      assertNoPassword(result);
    }
  });

  it('a URL of another scheme is a usage error that shows it with the password hidden', async () => {
    for (const [url, shown] of [
      [`mysql://ada:${PASSWORD}@db/app`, 'mysql://ada:***@db/app'],
      [`http://db/app?password=${PASSWORD}`, 'http://db/app?password=***'],
    ]) {
      const result = await run(['--postgres', url, 'keys', 'global']);
      assertFails(result, 2, 'error: --postgres must start with postgres:// or postgresql://');
      assert.ok(result.stderr.includes(`got ${shown}`), result.stderr);
      assertNoPassword(result);
    }
  });

  it('an empty --postgres is a usage error', async () => {
    assertFails(await run(['--postgres', '', 'get', 'global', 'k']), 2, 'error: --postgres is empty: give the URL of a PostgreSQL database');
  });

  it('LLMSTATE_POSTGRES_URL is checked as --postgres is, and named in the message', async () => {
    const result = await run(['get', 'global', 'k'], { LLMSTATE_POSTGRES_URL: `redis://ada:${PASSWORD}@db` });
    assertFails(result, 2, 'error: LLMSTATE_POSTGRES_URL must start with postgres:// or postgresql://');
    assertNoPassword(result);
  });

  it('a bad LLMSTATE_POSTGRES_URL does not stop --help or --version', async () => {
    for (const args of [['--help'], ['stats', '--help'], ['--version']]) {
      const result = await run(args, { LLMSTATE_POSTGRES_URL: `not a url ${PASSWORD}` });
      assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
      assertNoPassword(result);
    }
  });

  it('an explicit --data-dir wins over LLMSTATE_POSTGRES_URL', async () => {
    const dir = tempDir();
    const env = { LLMSTATE_POSTGRES_URL: URL_WITH_PASSWORD };
    assertSucceeds(await run(['--data-dir', dir, 'set', 'global', 'k', '1'], env));
    assert.deepEqual(await run(['--data-dir', dir, 'get', 'global', 'k'], env), { code: 0, stdout: '1\n', stderr: '' });
    assert.ok(fs.readdirSync(dir).length > 0, 'the store is in the data directory');
  });

  it('--pg-schema takes a name PostgreSQL needs no quotes for', async () => {
    for (const name of ['Team', 'team-b', '1team', 'a'.repeat(64), '']) {
      const result = await run(['--postgres', URL_WITH_PASSWORD, '--pg-schema', name, 'stats']);
      assertFails(result, 2, 'error: --pg-schema must be lower-case letters, digits and _, not starting with a digit, at most 63 of them; got ');
      assertNoPassword(result);
    }
    const fromEnv = await run(['stats'], { LLMSTATE_POSTGRES_URL: URL_WITH_PASSWORD, LLMSTATE_PG_SCHEMA: 'Team' });
    assertFails(fromEnv, 2, 'error: LLMSTATE_PG_SCHEMA must be lower-case letters');
  });

  it('--pg-schema without a PostgreSQL store is a usage error; LLMSTATE_PG_SCHEMA alone is ignored', async () => {
    const dir = tempDir();
    assertFails(await run(['--pg-schema', 'team_b', '--data-dir', dir, 'stats']), 2, 'error: --pg-schema names a schema of a PostgreSQL store');
    assertFails(await run(['--pg-schema', 'team_b', 'keys', 'global']), 2, 'error: --pg-schema names a schema of a PostgreSQL store');
    assertSucceeds(await run(['--data-dir', dir, 'set', 'global', 'k', '1'], { LLMSTATE_PG_SCHEMA: 'team_b' }));
  });

  it('verify and repair refuse a PostgreSQL store, saying why and what to do instead', async () => {
    for (const [command, start] of [
      ['verify', 'error: verify checks the files of a LevelDB data directory (write-ahead logs, tables), which a PostgreSQL store does not have'],
      ['repair', 'error: repair reopens a LevelDB data directory whose write-ahead log is damaged, which a PostgreSQL store does not have'],
    ]) {
      const result = await run(['--postgres', URL_WITH_PASSWORD, command]);
      assertFails(result, 2, start);
      assertNoPassword(result);
    }
  });

  it('backup commands on a PostgreSQL store need --backup-dir', async () => {
    for (const args of [
      ['backup', 'create'],
      ['backup', 'list'],
      ['backup', 'verify', 'some-id'],
      ['backup', 'restore', 'some-id', '--scope', 'agent:a1'],
      ['backup', 'prune', '--keep-last', '1'],
      ['backup', 'pin', 'some-id'],
    ]) {
      const result = await run(['--postgres', URL_WITH_PASSWORD, ...args]);
      assertFails(result, 2, 'error: a PostgreSQL store has no data directory to keep its backups in: give --backup-dir <dir>');
    }
  });

  it('a store that cannot be reached is STORAGE_FAILED, with the password hidden', async () => {
    const result = await run(['--postgres', `${URL_WITH_PASSWORD}?password=${PASSWORD}`, 'get', 'global', 'k']);
    assertFails(result, 1, 'error[STORAGE_FAILED]: Cannot open the store at postgres://ada@127.0.0.1:1/app (schema llmstate): ');
    assertNoPassword(result);
  });

  it('migrate run on a PostgreSQL store needs --backup-dir, or --no-backup', async () => {
    const result = await run(['--postgres', URL_WITH_PASSWORD, 'migrate', 'run', 'profile']);
    assertFails(result, 2, 'error: migrate run takes a backup first, and a PostgreSQL store has no data directory to keep it in: give --backup-dir <dir>, or --no-backup');
  });

});
