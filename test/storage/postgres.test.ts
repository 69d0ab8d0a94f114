import assert from 'node:assert/strict';
import { LlmStateError } from '../../src/errors.js';
import { createPostgresBackend, type PostgresBackend } from '../../src/storage/PostgresBackend.js';
import { PAGE_SIZE } from '../../src/storage/postgresPages.js';
import { SCHEMA_VERSION } from '../../src/storage/postgresSchema.js';
import type { BatchOp, Entry, SublevelName } from '../../src/storage/StorageBackend.js';
import { storageFailure, storageSuite } from '../../src/storage/storageSuite.js';
import { TestSchemas } from './postgresTestDatabase.js';
import { describePostgres } from '../support/postgres.js';

const schemas = new TestSchemas();
const open = (backend: PostgresBackend) => schemas.open(backend);

function put(sublevel: SublevelName, key: Buffer | string, value: Buffer | string): BatchOp {
  return { type: 'put', sublevel, key: Buffer.from(key), value: Buffer.from(value) };
}

async function collect(iterable: AsyncIterable<Entry>): Promise<string[]> {
  const keys: string[] = [];
  for await (const [key] of iterable) keys.push(key.toString('hex'));
  return keys;
}

function numbered(i: number): Buffer {
  const key = Buffer.alloc(4);
  key.writeUInt32BE(i);
  return key;
}

describePostgres('backend', () => {
  after(() => schemas.dropAll());
  afterEach(async () => {
    await schemas.closeOpened();
  });

  storageSuite({
    name: 'postgres',
    factory: () => schemas.backend(),
    reopen: (closed) => schemas.again(closed),
    supports: { persistence: true, sync: true },
    harness: { describe, it },
  });

  describe('options and location', () => {
    it('names the server, database and schema, without the password', () => {
      const backend = createPostgresBackend({ connectionString: 'postgres://app:s3cret@db:5432/agents?sslmode=require&password=other' });
      assert.equal(backend.location, 'postgres://app@db:5432/agents (schema llmstate)');
      const keywords = createPostgresBackend({ connectionString: "host=db dbname=agents password='s3 cret' user=app", schema: 'tenant_1' });
      assert.equal(keywords.location, 'host=db dbname=agents user=app (schema tenant_1)');
    });

    it('refuses a schema name that is not a plain lower-case identifier', () => {
      for (const schema of ['Agents', '1st', 'a-b', 'a"b', '', 'x'.repeat(64)]) {
        assert.throws(() => createPostgresBackend({ connectionString: 'postgres://db/x', schema }), (err: unknown) => {
          assert.ok(err instanceof TypeError);
          assert.match(err.message, /^Expected `schema` to be a schema name/);
          return true;
        });
      }
    });

    it('refuses a missing connection string, a bad pool size and a bad idle timeout', () => {
      const cases: Array<[unknown, RegExp]> = [
        [{}, /^Expected `connectionString` to be a non-empty libpq URL, got `undefined`/],
        [{ connectionString: 'postgres://db/x', poolSize: 0 }, /^Expected `poolSize` to be a positive integer up to 1000, got `0` \(number\)/],
        [{ connectionString: 'postgres://db/x', idleInTransactionMs: -1 }, /^Expected `idleInTransactionMs` to be a positive integer of milliseconds, got `-1`/],
        [{ connectionString: 'postgres://db/x', pool: 3 }, /^Unknown option `pool`/],
      ];
      for (const [options, message] of cases) {
        assert.throws(() => createPostgresBackend(options as never), (err: unknown) => err instanceof TypeError && message.test(err.message));
      }
    });
  });

  describe('tables and their version', () => {
    it('four backends opening one new schema at once all open it, and it holds the tables once', async () => {
      const schema = schemas.fresh();
      const backends = Array.from({ length: 4 }, () => schemas.backend(schema));
      await Promise.all(backends.map(open));
      await backends[0].batch([put('state', 'k', 'v')]);
      assert.equal((await backends[3].get('state', Buffer.from('k')))?.toString(), 'v');
      const versions = await schemas.query(`SELECT version FROM "${schema}".migrations`);
      assert.deepEqual(versions, [{ version: SCHEMA_VERSION }]);
      const tables = await schemas.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`, [schema]);
      assert.deepEqual(tables.map((row) => row.table_name), ['commit_sequence', 'leases', 'migrations', 'records']);
    });

    it('refuses, with STORAGE_FAILED, a schema whose version is newer than this code knows, and changes nothing', async () => {
      const schema = schemas.fresh();
      const first = await open(schemas.backend(schema));
      await first.close();
      await schemas.query(`INSERT INTO "${schema}".migrations (version, applied_at) VALUES (${SCHEMA_VERSION + 1}, now())`);
      const err = await storageFailure(() => open(schemas.backend(schema)));
      assert.match(err.message, new RegExp(`version ${SCHEMA_VERSION + 1}, newer than the ${SCHEMA_VERSION} this version of llmstate knows`));
      assert.ok(err.message.includes(first.location));
      assert.equal((await schemas.query(`SELECT count(*)::int AS n FROM "${schema}".migrations`))[0].n, 2);
    });

    it('fails to open with STORAGE_FAILED naming the store when the server cannot be reached', async () => {
      const backend = createPostgresBackend({ connectionString: 'postgres://nobody@127.0.0.1:1/none', schema: 'pgb_unreachable' });
      const err = await storageFailure(() => backend.open());
      assert.ok(err.message.includes('postgres://nobody@127.0.0.1:1/none (schema pgb_unreachable)'));
      assert.equal(backend.status, 'closed');
    });
  });

  describe('iteration', () => {
    it('reads page after page from one snapshot: a write made between pages is not seen', async () => {
      const backend = await open(schemas.backend());
      const count = PAGE_SIZE * 2 + 10;
      await backend.batch(Array.from({ length: count }, (_, i) => put('events', numbered(i * 2), 'v')));
      const expected = Array.from({ length: count }, (_, i) => numbered(i * 2).toString('hex'));
      const seen: string[] = [];
      for await (const [key] of backend.iterate('events')) {
        if (seen.length === PAGE_SIZE + 5) {
          await backend.batch([put('events', numbered(PAGE_SIZE * 3 + 1), 'added'), { type: 'del', sublevel: 'events', key: numbered((count - 1) * 2) }]);
        }
        seen.push(key.toString('hex'));
      }
      assert.deepEqual(seen, expected);
      assert.equal((await collect(backend.iterate('events'))).length, count, 'the write is seen by a later iteration');
    });

    it('honours bounds, limits and reverse across page boundaries, in bytewise order of 0x00 and 0xff keys', async () => {
      const backend = await open(schemas.backend());
      const keys = Array.from({ length: PAGE_SIZE * 2 + 3 }, (_, i) => Buffer.concat([Buffer.from([0xff, 0x00]), numbered(i)]));
      keys.push(Buffer.from([0xff]), Buffer.from([0x00]), Buffer.from([0xff, 0x00]), Buffer.from([0xff, 0x01]), Buffer.from([0xff, 0xff, 0xff]));
      await backend.batch(keys.map((key) => put('state', key, key)));
      const sorted = [...keys].sort(Buffer.compare).map((key) => key.toString('hex'));
      assert.deepEqual(await collect(backend.iterate('state')), sorted);
      assert.deepEqual(await collect(backend.iterate('state', { reverse: true })), [...sorted].reverse());
      const gt = Buffer.from([0xff, 0x00]);
      const lt = Buffer.from([0xff, 0x01]);
      const inside = sorted.filter((key) => key > gt.toString('hex') && key < lt.toString('hex'));
      assert.equal(inside.length, PAGE_SIZE * 2 + 3);
      assert.deepEqual(await collect(backend.iterate('state', { gt, lt })), inside);
      assert.deepEqual(await collect(backend.iterate('state', { gte: gt, lte: lt })), [gt.toString('hex'), ...inside, lt.toString('hex')]);
      assert.deepEqual(await collect(backend.iterate('state', { gt, lt, reverse: true, limit: PAGE_SIZE + 7 })), [...inside].reverse().slice(0, PAGE_SIZE + 7));
      assert.deepEqual(await collect(backend.iterate('state', { gte: gt, limit: PAGE_SIZE * 2 })), [gt.toString('hex'), ...inside].slice(0, PAGE_SIZE * 2));
      assert.deepEqual(await collect(backend.iterate('state', { gt, lt, limit: PAGE_SIZE })), inside.slice(0, PAGE_SIZE));
    });

    it('leaves no connection idle in transaction after iterations that complete, break early or throw, and snapshots closed', async () => {
      const schema = schemas.fresh();
      const backend = await open(schemas.backend(schema));
      await backend.batch(Array.from({ length: PAGE_SIZE * 3 }, (_, i) => put('audit', numbered(i), 'v')));
      assert.equal((await collect(backend.iterate('audit'))).length, PAGE_SIZE * 3);
      for await (const _ of backend.iterate('audit')) break;
      for await (const _ of backend.iterate('audit', { reverse: true })) {
        if (_[0].length > 0) break;
      }
      await assert.rejects(async () => {
        for await (const _ of backend.iterate('audit')) throw new Error('consumer failed');
      }, /consumer failed/);
      const snapshot = backend.snapshot();
      assert.equal((await collect(backend.iterate('audit', { snapshot }))).length, PAGE_SIZE * 3);
      const during = await schemas.connectionStates(schema);
      assert.deepEqual(during.filter((state) => state.startsWith('idle in transaction')), ['idle in transaction'], 'the open snapshot');
      await snapshot.close();
      await snapshot.close();
      const states = await schemas.connectionStates(schema);
      assert.ok(states.length > 0, 'the pools keep idle connections');
      assert.deepEqual(states.filter((state) => state !== 'idle'), []);
    });

    it('an iteration abandoned without being closed is ended by the server after the idle timeout', async () => {
      const schema = schemas.fresh();
      const backend = await open(schemas.backend(schema, { idleInTransactionMs: 300 }));
      await backend.batch(Array.from({ length: PAGE_SIZE * 2 }, (_, i) => put('audit', numbered(i), 'v')));
      const abandoned = backend.iterate('audit');
      await abandoned.next();
      assert.deepEqual((await schemas.connectionStates(schema)).filter((state) => state.startsWith('idle in transaction')), ['idle in transaction']);
      await new Promise((resolve) => setTimeout(resolve, 800));
      assert.deepEqual((await schemas.connectionStates(schema)).filter((state) => state !== 'idle'), []);
      const err = await storageFailure(async () => {
        for (let i = 0; i < PAGE_SIZE * 2; i++) await abandoned.next();
      });
      assert.match(err.message, /Iterating audit failed/);
      assert.equal((await collect(backend.iterate('audit'))).length, PAGE_SIZE * 2, 'the store goes on');
    });

    it('closing the store ends its snapshots and the iterations under way', async () => {
      const backend = await open(schemas.backend());
      await backend.batch(Array.from({ length: PAGE_SIZE * 2 }, (_, i) => put('audit', numbered(i), 'v')));
      const iteration = backend.iterate('audit');
      await iteration.next();
      const snapshot = backend.snapshot();
      await backend.close();
      await storageFailure(async () => {
        for (let i = 0; i < PAGE_SIZE * 2; i++) await iteration.next();
      });
      await snapshot.close();
    });
  });

  describe('snapshots', () => {
    it('a snapshot never sees a batch or commit issued after snapshot() returned, though it starts in the background', async () => {
      const backend = await open(schemas.backend());
      await backend.batch([put('state', 'k', 'before')]);
      const snapshot = backend.snapshot();
      const writes = [backend.batch([put('state', 'k', 'after')]), backend.commitNext(0, () => [put('state', 'c', 'after')])];
      try {
        assert.equal((await backend.get('state', Buffer.from('k'), { snapshot }))?.toString(), 'before');
        await Promise.all(writes);
        assert.equal((await backend.get('state', Buffer.from('k'), { snapshot }))?.toString(), 'before');
        assert.equal(await backend.get('state', Buffer.from('c'), { snapshot }), undefined);
        assert.equal((await backend.get('state', Buffer.from('k')))?.toString(), 'after');
      } finally {
        await snapshot.close();
      }
    });
  });

  describe('connections', () => {
    it('survives the server closing an idle connection of its pools', async () => {
      const schema = schemas.fresh();
      const backend = await open(schemas.backend(schema));
      await backend.batch([put('state', 'a', 'v')]);
      assert.equal((await backend.get('state', Buffer.from('a')))?.toString(), 'v');
      const ended = await schemas.query(`SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE application_name = $1 AND state = 'idle'`, [`llmstate:${schema}`]);
      assert.ok(ended.length >= 2, 'a read and a write connection were idle');
      await new Promise((resolve) => setTimeout(resolve, 100));
      await backend.batch([put('state', 'b', 'v')]);
      assert.equal((await backend.get('state', Buffer.from('b')))?.toString(), 'v');
    });

    it('a read of a closed snapshot, or of another store\'s, is refused', async () => {
      const one = await open(schemas.backend());
      const other = await open(schemas.backend());
      const snapshot = other.snapshot();
      const err = await storageFailure(() => one.get('state', Buffer.from('a'), { snapshot }));
      assert.ok(err.cause instanceof TypeError);
      assert.ok(!(err instanceof LlmStateError && err.code !== 'STORAGE_FAILED'));
      await snapshot.close();
    });
  });
});
