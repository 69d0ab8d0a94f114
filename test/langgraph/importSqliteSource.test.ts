import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isLlmStateError } from '../../src/index.js';
import { SqliteCheckpoints } from '../../src/langgraph/index.js';
import { Database, writeSqliteFixture } from './sqliteFixture.js';

function assertImportFailed(open: () => unknown, reason: string, pattern: RegExp): void {
  assert.throws(open, (error: unknown) => {
    assert.ok(isLlmStateError(error, 'IMPORT_FAILED'), String(error));
    assert.equal(error.details?.reason, reason);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('langgraph: SqliteCheckpoints.open', function () {
  this.timeout(60_000);
  let dir: string;
  let file: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lg-bench-source-'));
    file = await writeSqliteFixture(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('lists the threads of a SqliteSaver file, and each thread’s checkpoints oldest first across its namespaces, without changing the file', () => {
    const before = readFileSync(file);
    const source = SqliteCheckpoints.open(file);
    try {
      assert.deepEqual(source.threads(), [
        { threadId: 'done', checkpoints: 9, namespaces: 2 },
        { threadId: 'interrupted', checkpoints: 6, namespaces: 2 },
        { threadId: 'user/42 ü', checkpoints: 6, namespaces: 2 },
      ]);
      const refs = source.checkpointsOf('done');
      assert.equal(refs.length, 9);
      assert.deepEqual(refs.map((ref) => ref.checkpointId), refs.map((ref) => ref.checkpointId).sort());
      assert.deepEqual(new Set(refs.map((ref) => ref.checkpointNs === '' ? '' : ref.checkpointNs.split(':')[0])), new Set(['', 'research']));
    } finally {
      source.close();
    }
    assert.deepEqual(readFileSync(file), before);
  });

  it('a missing file, or a directory, is IMPORT_FAILED not_found', () => {
    assertImportFailed(() => SqliteCheckpoints.open(join(dir, 'nope.sqlite')), 'not_found', /There is no file .*nope\.sqlite; name the SqliteSaver database to import/);
    mkdirSync(join(dir, 'folder'));
    assertImportFailed(() => SqliteCheckpoints.open(join(dir, 'folder')), 'not_found', /folder is a directory/);
  });

  it('a file that is not SQLite is IMPORT_FAILED not_sqlite', () => {
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'these are not the checkpoints you are looking for\n'.repeat(100));
    assertImportFailed(() => SqliteCheckpoints.open(text), 'not_sqlite', /notes\.txt is not a SQLite database \(file is not a database\)/);
    const empty = join(dir, 'empty.sqlite');
    writeFileSync(empty, '');
    assertImportFailed(() => SqliteCheckpoints.open(empty), 'not_checkpoints', /empty\.sqlite is a SQLite database without SqliteSaver's `checkpoints` table/);
  });

  it('SQLite without SqliteSaver’s tables, or with a table that lacks its columns, is IMPORT_FAILED not_checkpoints', () => {
    const other = join(dir, 'other.sqlite');
    const db = new Database(other);
    db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)');
    db.close();
    assertImportFailed(() => SqliteCheckpoints.open(other), 'not_checkpoints', /without SqliteSaver's `checkpoints` table, so it holds no LangGraph checkpoints/);
    const partial = join(dir, 'partial.sqlite');
    const db2 = new Database(partial);
    db2.exec('CREATE TABLE checkpoints (thread_id TEXT, checkpoint_ns TEXT, checkpoint_id TEXT, parent_checkpoint_id TEXT, type TEXT, checkpoint BLOB, metadata BLOB)');
    db2.exec('CREATE TABLE writes (thread_id TEXT, checkpoint_ns TEXT, checkpoint_id TEXT, task_id TEXT, channel TEXT, value BLOB)');
    db2.close();
    assertImportFailed(() => SqliteCheckpoints.open(partial), 'not_checkpoints', /The `writes` table of .*partial\.sqlite lacks the columns idx, type that SqliteSaver writes/);
  });

  it('a file not in WAL mode is read from a copy, and left as it was', async () => {
    const rollback = join(dir, 'rollback.sqlite');
    const db = new Database(file);
    db.exec(`VACUUM INTO '${rollback}'`);
    db.close();
    const db2 = new Database(rollback);
    db2.exec('PRAGMA journal_mode = DELETE');
    db2.close();
    const before = readFileSync(rollback);
    const latest = async (path: string) => {
      const source = SqliteCheckpoints.open(path);
      try {
        assert.equal(source.threads().length, 3);
        return await source.saver.getTuple({ configurable: { thread_id: 'done', checkpoint_ns: '' } });
      } finally {
        source.close();
      }
    };
    const copied = await latest(rollback);
    assert.ok(copied !== undefined);
    assert.deepEqual(copied, await latest(file));
    assert.deepEqual(readFileSync(rollback), before);
  });

  it('without @langchain/langgraph-checkpoint-sqlite where it looks, IMPORT_FAILED peer_missing says where it looked and what to install', () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'lg-bench-nowhere-'));
    try {
      assertImportFailed(
        () => SqliteCheckpoints.open(file, { resolveFrom: [elsewhere] }),
        'peer_missing',
        /Cannot find @langchain\/langgraph-checkpoint-sqlite from .*lg-bench-nowhere-.*: reading a SqliteSaver database needs it\. .*npm install @langchain\/langgraph-checkpoint-sqlite/,
      );
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });
});
