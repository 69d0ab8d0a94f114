import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BaseCheckpointSaver } from '@langchain/langgraph-checkpoint';
import { isLlmStateError } from '../../src/index.js';
import { importSqliteCheckpoints, SqliteCheckpoints, type ImportProgress } from '../../src/langgraph/index.js';
import { config, Database, forecastGraph, resume, runs, writeSqliteFixture } from './sqliteFixture.js';
import { assertSameThreads, tuplesOf } from './compareSavers.js';
import { openTarget, type Target } from './importTarget.js';

const THREADS = ['done', 'interrupted', 'user/42 ü'];

async function assertImportFailed(promise: Promise<unknown> | (() => unknown), reason: string, pattern: RegExp): Promise<void> {
  await assert.rejects(async () => (typeof promise === 'function' ? promise() : promise), (error: unknown) => {
    assert.ok(isLlmStateError(error, 'IMPORT_FAILED'), String(error));
    assert.equal(error.details?.reason, reason);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('langgraph: importSqliteCheckpoints', function () {
  this.timeout(60_000);
  let dir: string;
  let file: string;
  let source: SqliteCheckpoints;
  let target: Target;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lg-bench-import-'));
    file = await writeSqliteFixture(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(async () => {
    source = SqliteCheckpoints.open(file);
    target = await openTarget();
  });
  afterEach(async () => {
    source.close();
    await target.close();
  });

  it('copies every thread and namespace tuple for tuple: ids, parents, metadata, channel values and pending writes', async () => {
    const result = await importSqliteCheckpoints(target.saver, source);
    assert.deepEqual(
      result.threads.map((thread) => [thread.threadId, thread.namespaces, thread.existed]),
      THREADS.map((threadId) => [threadId, 2, false]),
    );
    const db = new Database(file);
    try {
      const [{ checkpoints }] = db.prepare('SELECT COUNT(*) AS checkpoints FROM checkpoints').all() as Array<{ checkpoints: number }>;
      const [{ writes }] = db.prepare('SELECT COUNT(*) AS writes FROM writes').all() as Array<{ writes: number }>;
      assert.equal(result.checkpoints, checkpoints);
      assert.equal(result.writes, writes);
    } finally {
      db.close();
    }
    assert.equal(result.dryRun, false);
    assert.equal(result.file, file);
    await assertSameThreads(source.saver, target.saver, THREADS);
  });

  it('an interrupted thread resumes on the target and finishes, without running again what had finished before the interrupt', async () => {
    await importSqliteCheckpoints(target.saver, source, { threads: ['interrupted'] });
    const before = { ...runs };
    const final = await forecastGraph(target.saver).invoke(resume('yes'), config('interrupted'));
    assert.equal(final.approved, 'yes');
    assert.deepEqual(
      final.messages.map((message) => message.content),
      ['What will the weather be?', 'I will draft and research.', 'forecast published'],
    );
    assert.deepEqual(final.notes.slice().sort(), ['draft: cloudy', 'lookup: rain likely']);
    // draft's write and lookup's checkpoint were imported as pending writes and a subgraph checkpoint.
    assert.deepEqual(runs, before);
  });

  it('importing again changes nothing, so an import cut short is finished by running it again', async () => {
    await importSqliteCheckpoints(target.saver, source, { threads: ['done'] });
    const again = await importSqliteCheckpoints(target.saver, source);
    assert.deepEqual(
      again.threads.map((thread) => [thread.threadId, thread.existed]),
      THREADS.map((threadId) => [threadId, threadId === 'done']),
    );
    await assertSameThreads(source.saver, target.saver, THREADS);
  });

  it('threads names the threads to import; one the file lacks fails before anything is written', async () => {
    const result = await importSqliteCheckpoints(target.saver, source, { threads: ['user/42 ü'] });
    assert.deepEqual(result.threads.map((thread) => thread.threadId), ['user/42 ü']);
    assert.deepEqual(await tuplesOf(target.saver, 'done'), []);
    await assertImportFailed(importSqliteCheckpoints(target.saver, source, { threads: ['done', 'nope'] }), 'thread_not_found', /holds no thread "nope"; nothing was imported/);
    assert.deepEqual(await tuplesOf(target.saver, 'done'), []);
  });

  it('dryRun reads and counts every checkpoint and write and writes nothing; onProgress reports each step', async () => {
    const seen: ImportProgress[] = [];
    const dry = await importSqliteCheckpoints(target.saver, source, { dryRun: true, onProgress: (progress) => seen.push(progress) });
    assert.equal(dry.dryRun, true);
    for (const threadId of THREADS) assert.deepEqual(await tuplesOf(target.saver, threadId), []);
    assert.equal(seen.length, dry.checkpoints);
    assert.ok(seen.every((progress, i) => progress.phase === 'check' && progress.done === i + 1 && progress.total === dry.checkpoints));

    const copied: ImportProgress[] = [];
    const real = await importSqliteCheckpoints(target.saver, source, { onProgress: (progress) => copied.push(progress) });
    assert.deepEqual({ ...real, dryRun: true }, dry);
    assert.equal(copied.length, 2 * real.checkpoints);
    assert.equal(copied.at(-1)!.phase, 'copy');
  });

  it('a damaged checkpoint fails its thread with IMPORT_FAILED damaged, naming it, and nothing of that thread is written', async () => {
    const damaged = join(dir, 'damaged.sqlite');
    const db = new Database(file);
    db.exec(`VACUUM INTO '${damaged}'`);
    db.close();
    const broken = new Database(damaged);
    const [{ checkpoint_id: id }] = broken.prepare("SELECT checkpoint_id FROM checkpoints WHERE thread_id = 'interrupted' AND checkpoint_ns = '' ORDER BY checkpoint_id DESC LIMIT 1").all() as Array<{ checkpoint_id: string }>;
    broken.prepare("UPDATE checkpoints SET checkpoint = X'7b226e6f7420a0' WHERE thread_id = 'interrupted' AND checkpoint_ns = '' AND checkpoint_id = ?").run(id);
    broken.close();
    const from = SqliteCheckpoints.open(damaged);
    try {
      await assert.rejects(importSqliteCheckpoints(target.saver, from), (error: unknown) => {
        assert.ok(isLlmStateError(error, 'IMPORT_FAILED'));
        assert.deepEqual(error.details, { reason: 'damaged', file: damaged, threadId: 'interrupted', checkpointNs: '', checkpointId: id });
        assert.match(error.message, new RegExp(`Cannot read checkpoint ${id} of thread "interrupted" in .*damaged.sqlite: .*Nothing of this thread was imported`));
        return true;
      });
    } finally {
      from.close();
    }
    // Threads are copied in id order: `done` came before, whole; nothing of `interrupted`, or after it.
    await assertSameThreads(source.saver, target.saver, ['done']);
    assert.deepEqual(await tuplesOf(target.saver, 'interrupted'), []);
    assert.deepEqual(await tuplesOf(target.saver, 'user/42 ü'), []);
  });

  it('a checkpoint the target refuses removes the thread the import created, and keeps one that was there before', async () => {
    await importSqliteCheckpoints(target.saver, source, { threads: ['done'] });
    const refusing = refuseFourthPut(target.saver);
    await assert.rejects(importSqliteCheckpoints(refusing, source), (error: unknown) => {
      assert.ok(isLlmStateError(error, 'IMPORT_FAILED'));
      assert.equal(error.details?.reason, 'write_failed');
      assert.equal(error.details?.threadId, 'done');
      assert.match(error.message, /the disk is full.*The thread was in the store before: run the import again/);
      return true;
    });
    await assertSameThreads(source.saver, target.saver, ['done']);

    await assert.rejects(importSqliteCheckpoints(refuseFourthPut(target.saver), source, { threads: ['interrupted'] }), (error: unknown) => {
      assert.ok(isLlmStateError(error, 'IMPORT_FAILED'));
      assert.match(error.message, /Nothing of this thread was kept/);
      return true;
    });
    assert.deepEqual(await tuplesOf(target.saver, 'interrupted'), []);
  });
});

/** `saver`, but its fourth put fails as a full disk would. */
function refuseFourthPut(saver: BaseCheckpointSaver): BaseCheckpointSaver {
  let puts = 0;
  return new Proxy(saver, {
    get(target, property, receiver) {
      if (property === 'put') {
        return async (...args: Parameters<BaseCheckpointSaver['put']>) => {
          if (++puts === 4) throw new Error('the disk is full');
          return target.put(...args);
        };
      }
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
