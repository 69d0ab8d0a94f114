import assert from 'node:assert/strict';
import path from 'node:path';
import { checkPostgresUrl, redactPostgresUrl } from '../../src/cli/postgresUrl.js';
import { UsageError } from '../../src/cli/output.js';
import { collectStats, formatStats } from '../../src/cli/stats.js';
import { backupDirFor, describeStore, requireDataDir, storeOptions } from '../../src/cli/storeSource.js';
import type { Runtime } from '../../src/runtime.js';
import type { StoreStats } from '../../src/storeStats.js';

describe('the store a command works on', () => {
  describe('redactPostgresUrl', () => {
    it('hides the password, and every query parameter that holds one', () => {
      assert.equal(redactPostgresUrl('postgres://ada:s3cret@db:5432/app'), 'postgres://ada:***@db:5432/app');
      assert.equal(redactPostgresUrl('postgresql://ada:p%40ss@db/app?sslmode=require'), 'postgresql://ada:***@db/app?sslmode=require');
      assert.equal(redactPostgresUrl('postgres://db/app?password=s3cret&sslpassword=k3y&application_name=x'), 'postgres://db/app?password=***&sslpassword=***&application_name=x');
    });

    it('leaves a URL without a password as it is', () => {
      for (const url of ['postgres://ada@db:5432/app', 'postgresql:///app?host=/var/run/postgresql', 'postgres://%2Fvar%2Frun%2Fpostgresql/app']) {
        assert.equal(redactPostgresUrl(url), url);
      }
    });

    it('shows nothing of text that does not parse', () => {
      assert.equal(redactPostgresUrl('postgres://ada:s3cret@db:99999/app'), '(a URL that does not parse, not shown)');
    });
  });

  describe('checkPostgresUrl', () => {
    it('returns a postgres:// or postgresql:// URL as given, password included', () => {
      for (const url of ['postgres://ada:s3cret@db:5432/app', 'postgresql://db/app', 'POSTGRES://db/app']) assert.equal(checkPostgresUrl(url, '--postgres'), url);
    });

    it('refuses anything else with a UsageError naming where it came from', () => {
      assert.throws(() => checkPostgresUrl('db:5432', 'LLMSTATE_POSTGRES_URL'), (error: unknown) => error instanceof UsageError && error.message.startsWith('LLMSTATE_POSTGRES_URL must start with postgres://'));
      assert.throws(() => checkPostgresUrl('', '--postgres'), /^UsageError: --postgres is empty/);
    });
  });

  describe('storeOptions and describeStore', () => {
    it('a data directory: dataDir, and its absolute path', () => {
      assert.deepEqual(storeOptions({ dataDir: './state' }), { dataDir: './state' });
      assert.equal(describeStore({ dataDir: './state' }), path.resolve('./state'));
    });

    it('a PostgreSQL store: storage.postgres with the URL as given, described with the password hidden', () => {
      const store = { postgres: 'postgres://ada:s3cret@db/app', schema: 'team_b' };
      assert.deepEqual(storeOptions(store), { storage: { postgres: { connectionString: 'postgres://ada:s3cret@db/app', schema: 'team_b' } } });
      assert.equal(describeStore(store), 'postgres://ada:***@db/app (schema team_b)');
    });
  });

  describe('requireDataDir and backupDirFor', () => {
    const postgres = { postgres: 'postgres://db/app', schema: 'llmstate' };

    it('a data directory has one, and its backups go under it unless told otherwise', () => {
      assert.equal(requireDataDir({ dataDir: 'state' }, 'unused'), 'state');
      assert.equal(backupDirFor({ dataDir: 'state' }, undefined, 'unused'), path.resolve('state/backups'));
      assert.equal(backupDirFor({ dataDir: 'state' }, '/mnt/offsite', 'unused'), '/mnt/offsite');
    });

    it('a PostgreSQL store has none: the refusal is a UsageError, unless a backup directory is given', () => {
      assert.throws(() => requireDataDir(postgres, 'why not'), (error: unknown) => error instanceof UsageError && error.message === 'why not');
      assert.throws(() => backupDirFor(postgres, undefined, 'give --backup-dir'), (error: unknown) => error instanceof UsageError && error.message === 'give --backup-dir');
      assert.equal(backupDirFor(postgres, 'backups', 'unused'), path.resolve('backups'));
    });
  });

  describe('stats', () => {
    const none = { scopes: 0, keys: 0, valueBytes: 0 };
    const counts: StoreStats = {
      storeFormat: 1,
      createdAt: Date.UTC(2026, 0, 2),
      lastCommitSeq: 7,
      kinds: { global: none, agent: none, workflow: none, step: none, session: none, custom: none },
      total: none,
      unrecognisedKeys: 0,
      eventLogRecords: 7,
      sizeOnDisk: 65536,
    };
    const rt = { stats: async () => counts } as unknown as Runtime;

    it('of a data directory: its absolute path, as before', async () => {
      const report = await collectStats(rt, { dataDir: 'state' });
      assert.equal(JSON.parse(JSON.stringify(report)).dataDir, path.resolve('state'));
      assert.equal(formatStats(report)[0], `data dir          ${path.resolve('state')}`);
      assert.equal(formatStats(report)[4], 'size on disk      64.0 KiB (65536 bytes)');
    });

    it('of a PostgreSQL store: the URL with the password hidden, the schema, and the size of its tables', async () => {
      const report = await collectStats(rt, { postgres: 'postgres://ada:s3cret@db/app', schema: 'team_b' });
      const json = JSON.parse(JSON.stringify(report));
      assert.deepEqual([json.postgres, json.schema, json.dataDir], ['postgres://ada:***@db/app', 'team_b', undefined]);
      assert.deepEqual(formatStats(report).slice(0, 6), [
        'postgres          postgres://ada:***@db/app',
        'schema            team_b',
        'store format      1 (created 2026-01-02T00:00:00.000Z)',
        'last commit seq   7',
        'event-log records 7',
        'size on disk      64.0 KiB (65536 bytes) of tables and indexes',
      ]);
    });
  });
});
