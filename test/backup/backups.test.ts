import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRuntime, Scope, type Runtime } from '../../src/index.js';
import { storageOf } from '../../src/runtime.js';
import { verifyStore } from '../../src/integrity/verifyStore.js';
import { ManualTimers, settle } from '../ManualTimers.js';
import { RuntimeFixture, tempDir } from '../helpers.js';

const a1 = Scope.agent('a1');
const b1 = Scope.agent('b1');

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code ?? (error as Error).name;
  }
}

async function lastSetSeq(rt: Runtime): Promise<number> {
  const events = await rt.events.query({ kinds: ['state.set'] });
  return events[events.length - 1].seq;
}

describe('rt.backups', () => {
  let fixture: RuntimeFixture;
  let rt: Runtime;

  beforeEach(async () => {
    fixture = new RuntimeFixture('backups');
    rt = await fixture.open();
  });
  afterEach(() => fixture.dispose());

  it('create() describes the file it wrote, and list() finds it, oldest first', async () => {
    await rt.state.set(a1, 'k', 1);
    const full = await rt.backups.create();
    await rt.state.set(a1, 'k', 2);
    const inc = await rt.backups.create({ incremental: true, compression: 'gzip' });
    assert.equal(full.kind, 'full');
    assert.equal(full.parentId, null);
    assert.equal(full.file, join(fixture.dir, 'backups', `llmstate-${full.id}.backup`));
    assert.ok(existsSync(full.file));
    assert.deepEqual(
      { kind: inc.kind, parentId: inc.parentId, fromSeq: inc.fromSeq, compression: inc.compression, encrypted: inc.encrypted, pinned: inc.pinned },
      { kind: 'incremental', parentId: full.id, fromSeq: full.seq, compression: 'gzip', encrypted: false, pinned: false },
    );
    assert.ok(inc.seq > full.seq);
    assert.deepEqual(await rt.backups.list(), [full, inc]);
    assert.deepEqual(await rt.backups.get(inc.id), inc);
  });

  it('restores a full backup, then an incremental one, exactly, and the store then verifies clean', async () => {
    await rt.state.set(a1, 'keep', 'v1');
    await rt.state.set(b1, 'gone', 'v1');
    const full = await rt.backups.create();
    await rt.state.set(a1, 'keep', 'v2');
    await rt.state.delete(b1, 'gone');
    await rt.state.set(a1, 'new', [1, 2]);
    const inc = await rt.backups.create({ incremental: true });
    await rt.state.clearScope(a1);
    await rt.state.set(b1, 'later', true);

    const first = await rt.backups.restore({ id: full.id });
    assert.equal(first.mode, 'full');
    assert.equal(first.restoredSeq, full.seq);
    assert.ok(first.seq! > inc.seq, 'the sequence goes on after the highest one used');
    assert.deepEqual([await rt.state.get(a1, 'keep'), await rt.state.get(b1, 'gone'), await rt.state.get(b1, 'later')], ['v1', 'v1', undefined]);

    await rt.backups.restore({ id: inc.id });
    assert.deepEqual(await rt.state.listKeys(a1), ['keep', 'new']);
    assert.deepEqual([await rt.state.get(a1, 'keep'), await rt.state.get(a1, 'new'), await rt.state.listKeys(b1)], ['v2', [1, 2], []]);

    await rt.close();
    const report = await verifyStore({ dataDir: fixture.dir });
    assert.deepEqual(report.problems, [], 'a restored store passes llmstate verify');
    rt = await fixture.open();
    assert.equal(await rt.state.get(a1, 'keep'), 'v2', 'the restored store is the one a reopened runtime finds');
    assert.deepEqual(
      readdirSync(fixture.dir).filter((name) => name.startsWith('db')),
      [readdirSync(fixture.dir).find((name) => name.startsWith('db-'))],
      'only the active store is left',
    );
  });

  it('takes a safety backup first, which undoes the restore', async () => {
    await rt.state.set(a1, 'k', 'old');
    const backup = await rt.backups.create();
    await rt.state.set(a1, 'k', 'newest');
    const restored = await rt.backups.restore({ id: backup.id });
    const safety = await rt.backups.get(restored.safetyBackupId!);
    assert.equal(safety.reason, 'safety');
    assert.equal(await rt.state.get(a1, 'k'), 'old');
    await rt.backups.restore({ id: safety.id });
    assert.equal(await rt.state.get(a1, 'k'), 'newest');
  });

  it('restores to a point in time by sequence and by time, from the newest backup before it and the log', async () => {
    const timers = new ManualTimers();
    rt = await fixture.reopen(rt, { clock: timers.clock, timers });
    await rt.state.set(a1, 'k', 0);
    await rt.backups.create();
    const marks: Array<{ seq: number; at: number }> = [];
    for (let value = 1; value <= 4; value++) {
      await timers.advance(1000);
      await rt.state.set(a1, 'k', value);
      marks.push({ seq: await lastSetSeq(rt), at: timers.clock.now() });
    }
    await rt.state.clearScope(a1);

    const bySeq = await rt.backups.restore({ at: marks[1].seq });
    assert.equal(bySeq.mode, 'pointInTime');
    assert.equal(bySeq.restoredSeq, marks[1].seq);
    assert.ok(bySeq.replayedCommits >= 2);
    assert.equal(await rt.state.get(a1, 'k'), 2);

    // The restore replaced the history after marks[1]: a later target is no longer in the log.
    assert.equal(await codeOf(rt.backups.restore({ at: marks[2].seq })), 'RESTORE_FAILED');
    await rt.backups.restore({ id: bySeq.safetyBackupId! });
    const byTime = await rt.backups.restore({ at: new Date(marks[2].at + 500) });
    assert.equal(byTime.restoredSeq, marks[2].seq);
    assert.equal(await rt.state.get(a1, 'k'), 3);
  });

  it('restores one scope to a point in time, leaving the others as they are', async () => {
    await rt.state.set(a1, 'k', 0);
    await rt.state.set(b1, 'k', 0);
    await rt.backups.create();
    await rt.state.set(a1, 'k', 1);
    await rt.state.set(a1, 'extra', 'x');
    const target = await lastSetSeq(rt);
    await rt.state.set(a1, 'k', 2);
    await rt.state.delete(a1, 'extra');
    await rt.state.set(b1, 'k', 5);
    const result = await rt.backups.restore({ at: target, scopes: [a1] });
    assert.deepEqual([result.mode, result.restoredSeq], ['scopes', target]);
    assert.deepEqual([await rt.state.get(a1, 'k'), await rt.state.get(a1, 'extra'), await rt.state.get(b1, 'k')], [1, 'x', 5]);
    assert.deepEqual(result.changes, [{ scope: 'agent:a1', added: 1, changed: 1, removed: 0, samples: { added: ['extra'], changed: ['k'], removed: [] } }]);
  });

  it('refuses a time inside a history that a restore replaced, naming the safety backup that holds it', async () => {
    const timers = new ManualTimers();
    rt = await fixture.reopen(rt, { clock: timers.clock, timers });
    await rt.state.set(a1, 'k', 1);
    const backup = await rt.backups.create();
    await timers.advance(10);
    await rt.state.set(a1, 'k', 2);
    const replacedAt = timers.clock.now() + 5;
    await timers.advance(10);
    const restored = await rt.backups.restore({ id: backup.id });
    await assert.rejects(rt.backups.restore({ at: new Date(replacedAt) }), (error: Error & { code?: string; details?: { safetyBackupId?: string } }) => {
      assert.equal(error.code, 'RESTORE_FAILED');
      assert.match(error.message, /a restore replaced/);
      assert.equal(error.details?.safetyBackupId, restored.safetyBackupId);
      return true;
    });
    await timers.advance(10);
    const after = await rt.backups.restore({ at: new Date(timers.clock.now()) });
    assert.equal(after.restoredSeq, restored.seq, 'a time after the restore is in the restored history');
    assert.equal(await rt.state.get(a1, 'k'), 1);
  });

  it('builds increments and points in time only on backups of its own store, when stores share a directory', async () => {
    const shared = join(fixture.dir, 'shared-backups');
    const other = tempDir('backups-other-store');
    try {
      const first = await createRuntime({ dataDir: join(other.dir, 'one'), backups: { dir: shared } });
      await first.state.set(a1, 'k', 'one');
      const theirs = await first.backups.create();
      await first.close();
      const second = await createRuntime({ dataDir: join(other.dir, 'two'), backups: { dir: shared } });
      try {
        for (let i = 0; i < 5; i++) await second.state.set(a1, 'k', `two-${i}`);
        assert.equal(await codeOf(second.backups.create({ incremental: true })), 'BACKUP_FULL_REQUIRED', "the other store's backup is no parent");
        assert.equal(await codeOf(second.backups.restore({ at: 3 })), 'BACKUP_NOT_FOUND', 'nor a base for a point in time');
        assert.equal(await codeOf(second.backups.restore({ id: theirs.id, at: 3 })), 'RESTORE_FAILED');
        const ours = await second.backups.create();
        const increment = await second.backups.create({ incremental: true });
        assert.equal(increment.parentId, ours.id);
        assert.notEqual(ours.storeId, theirs.storeId);
        await second.backups.restore({ id: theirs.id });
        assert.equal(await second.state.get(a1, 'k'), 'one', 'restoring by id alone takes any store');
        const continued = await second.backups.create({ incremental: true });
        assert.equal(continued.parentId, theirs.id, 'the restored store continues the history of the store it came from');
      } finally {
        await second.close();
      }
    } finally {
      other.cleanup();
    }
  });

  it('refuses a point in time that event retention removed, naming the gap, and changes nothing', async () => {
    await rt.state.set(a1, 'k', 0);
    const backup = await rt.backups.create();
    for (let value = 1; value <= 5; value++) await rt.state.set(a1, 'k', value);
    const target = (await lastSetSeq(rt)) - 1;
    await rt.events.prune({ maxCount: 1 });
    await assert.rejects(rt.backups.restore({ at: target }), (error: Error & { code?: string; details?: { gap?: unknown } }) => {
      assert.equal(error.code, 'RESTORE_FAILED');
      assert.match(error.message, /event retention removed commits/);
      assert.ok(error.details?.gap !== undefined);
      return true;
    });
    assert.equal(await rt.state.get(a1, 'k'), 5);
    assert.ok(backup.seq < target);
  });

  it('refuses an incremental backup with nothing to build on, or one the log cannot describe', async () => {
    await rt.state.set(a1, 'k', 0);
    assert.equal(await codeOf(rt.backups.create({ incremental: true })), 'BACKUP_FULL_REQUIRED');
    const full = await rt.backups.create();
    for (let value = 1; value <= 5; value++) await rt.state.set(a1, 'k', value);
    await rt.events.prune({ maxCount: 1 });
    await assert.rejects(rt.backups.create({ incremental: true }), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'BACKUP_FULL_REQUIRED');
      assert.match(error.message, /event retention removed the commits/);
      return true;
    });
    assert.deepEqual((await rt.backups.list()).map((backup) => backup.id), [full.id], 'nothing was left behind');
    assert.deepEqual(readdirSync(join(fixture.dir, 'backups')), [`llmstate-${full.id}.backup`]);
  });

  it('an incremental backup after a scoped restore holds its changes; after a full restore it builds on the backup restored', async () => {
    await rt.state.set(a1, 'k', 'v1');
    await rt.state.set(b1, 'k', 'v1');
    const full = await rt.backups.create();
    await rt.state.set(a1, 'k', 'v2');
    await rt.state.set(b1, 'k', 'v2');
    await rt.backups.restore({ id: full.id, scopes: [a1] });
    const inc = await rt.backups.create({ incremental: true });
    await rt.state.set(a1, 'k', 'v3');
    const restored = await rt.backups.restore({ id: inc.id });
    assert.deepEqual([await rt.state.get(a1, 'k'), await rt.state.get(b1, 'k')], ['v1', 'v2']);
    await rt.state.set(b1, 'k', 'v4');
    const next = await rt.backups.create({ incremental: true });
    assert.equal(next.parentId, inc.id, 'not the safety backup, which the restore replaced');
    assert.notEqual(next.parentId, restored.safetyBackupId);
    await rt.state.set(b1, 'k', 'v5');
    await rt.backups.restore({ id: next.id });
    assert.deepEqual([await rt.state.get(a1, 'k'), await rt.state.get(b1, 'k')], ['v1', 'v4']);
    await rt.backups.restore({ id: full.id });
    assert.equal(await codeOf(rt.backups.create({ incremental: true })), undefined, 'builds on full, the backup just restored');
  });

  it('restores from a file alone into an empty store (disaster recovery), chain included', async () => {
    await rt.state.set(a1, 'k', 'v1');
    await rt.backups.create();
    await rt.state.set(a1, 'k2', 'v2');
    const inc = await rt.backups.create({ incremental: true });
    await rt.close();
    const elsewhere = tempDir('backups-dr');
    try {
      const fresh = await createRuntime({ dataDir: join(elsewhere.dir, 'data') });
      try {
        const result = await fresh.backups.restore({ from: inc.file });
        assert.equal(result.id, inc.id);
        assert.deepEqual([await fresh.state.get(a1, 'k'), await fresh.state.get(a1, 'k2')], ['v1', 'v2']);
      } finally {
        await fresh.close();
      }
    } finally {
      elsewhere.cleanup();
    }
  });

  it('encrypts with a key or a passphrase, and needs it to verify and restore', async () => {
    await rt.state.set(a1, 'secret', 's3cr3t');
    const key = Buffer.alloc(32, 7);
    const withKey = await rt.backups.create({ key });
    assert.equal(withKey.encrypted, true);
    assert.equal(await codeOf(rt.backups.verify(withKey.id)), 'BACKUP_KEY_REQUIRED');
    assert.equal(await codeOf(rt.backups.verify(withKey.id, { key: Buffer.alloc(32, 8) })), 'BACKUP_CORRUPT');
    assert.equal((await rt.backups.verify(withKey.id, { key })).id, withKey.id);
    assert.equal(await codeOf(rt.backups.create({ encrypt: true })), 'BACKUP_KEY_REQUIRED');
    const withPassphrase = await rt.backups.create({ encrypt: true, key: 'correct horse battery staple' });
    await rt.state.set(a1, 'secret', 'changed');
    await rt.backups.restore({ id: withPassphrase.id, key: 'correct horse battery staple' });
    assert.equal(await rt.state.get(a1, 'secret'), 's3cr3t');
  });

  it('a dry run reports per scope what would change and writes nothing', async () => {
    await rt.state.set(a1, 'same', 1);
    await rt.state.set(a1, 'changed', 1);
    const backup = await rt.backups.create();
    await rt.state.set(a1, 'changed', 2);
    await rt.state.set(a1, 'added', 3);
    await rt.state.set(b1, 'other', 4);
    const before = await rt.events.query({});
    const result = await rt.backups.restore({ id: backup.id, dryRun: true });
    assert.equal(result.dryRun, true);
    assert.equal(result.safetyBackupId, undefined);
    assert.deepEqual(result.changes, [
      { scope: 'agent:a1', added: 0, changed: 1, removed: 1, samples: { added: [], changed: ['changed'], removed: ['added'] } },
      { scope: 'agent:b1', added: 0, changed: 0, removed: 1, samples: { added: [], changed: [], removed: ['other'] } },
    ]);
    assert.deepEqual(await rt.events.query({}), before, 'nothing was logged');
    assert.equal(await rt.state.get(a1, 'changed'), 2);
    assert.equal((await rt.backups.list()).length, 1, 'no safety backup');
  });

  it('validates its arguments with TypeErrors and refuses what it cannot do with codes', async () => {
    await assert.rejects(rt.backups.create({ compression: 'zstd' } as never), /Expected `compression` to be 'brotli', 'gzip' or 'none'/);
    await assert.rejects(rt.backups.restore({} as never), /Expected one of `id`, `from` or `at`/);
    await assert.rejects(rt.backups.restore({ id: 'x', from: '/tmp/x' }), TypeError);
    await assert.rejects(rt.backups.restore({ id: 'x', scopes: [42] as never }), /Expected `scopes\[0\]` to be a Scope/);
    await assert.rejects(rt.backups.prune({ keepLast: -1 }), TypeError);
    assert.equal(await codeOf(rt.backups.get('nope')), 'BACKUP_NOT_FOUND');
    assert.equal(await codeOf(rt.backups.restore({ id: 'nope' })), 'BACKUP_NOT_FOUND');
    assert.equal(await codeOf(rt.backups.restore({ at: 1 })), 'BACKUP_NOT_FOUND', 'no backup at or before it');
    const memory = await createRuntime({ memory: true });
    try {
      assert.equal(await codeOf(memory.backups.create()), 'BACKUP_NOT_FOUND');
    } finally {
      await memory.close();
    }
  });

  it('namespaces taken before a full restore refuse with a message that says to take them afresh', async () => {
    await rt.state.set(a1, 'k', 1);
    const backup = await rt.backups.create();
    const state = rt.state;
    await rt.backups.restore({ id: backup.id });
    await assert.rejects(state.get(a1, 'k'), (error: Error & { code?: string }) => error.code === 'RUNTIME_CLOSED' && /restored from a backup/.test(error.message));
    assert.equal(await rt.state.get(a1, 'k'), 1);
  });

  it('pins keep a backup through prune; prune keeps the parents of kept increments', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      await rt.state.set(a1, 'k', i);
      ids.push((await rt.backups.create({ incremental: i > 0 })).id);
    }
    await rt.backups.pin(ids[0]);
    const plan = await rt.backups.plan({ keepLast: 1 });
    assert.ok(plan.decisions.every((decision) => decision.keep), 'the last increment needs its whole chain');
    await rt.state.set(a1, 'k', 'full');
    const newest = await rt.backups.create();
    const pruned = await rt.backups.prune({ keepLast: 1 });
    assert.deepEqual(pruned.deleted.map((backup) => backup.id).sort(), ids.slice(1).sort());
    assert.deepEqual((await rt.backups.list()).map((backup) => backup.id), [ids[0], newest.id]);
    assert.equal((await rt.backups.unpin(ids[0])).pinned, false);
  });
});

describe('scheduled backups', () => {
  it('take a backup every `every` ms, incremental when they can be, and prune after each', async () => {
    const fixture = new RuntimeFixture('backups-schedule');
    const timers = new ManualTimers();
    try {
      const rt = await fixture.open({ clock: timers.clock, timers, backups: { every: 60_000, incremental: true, retention: { keepLast: 2 } } });
      await rt.state.set(a1, 'k', 0);
      for (let round = 1; round <= 3; round++) {
        await timers.advance(60_000);
        await rt.backups.idle();
        await rt.state.set(a1, 'k', round);
      }
      await settle();
      const backups = await rt.backups.list();
      assert.deepEqual(
        backups.map((backup) => [backup.kind, backup.reason]),
        [
          ['full', 'scheduled'],
          ['incremental', 'scheduled'],
          ['incremental', 'scheduled'],
        ],
        'keepLast 2 kept the last two, and the full backup they need',
      );
      const created = await rt.events.query({ kinds: ['backup.created', 'backup.pruned'] });
      assert.deepEqual(
        created.map((event) => event.kind),
        ['backup.created', 'backup.pruned', 'backup.created', 'backup.pruned', 'backup.created', 'backup.pruned'],
      );

      await rt.close();
    } finally {
      await fixture.dispose();
    }
  });

  it('logs backup.failed when a scheduled backup fails, and goes on', async () => {
    const fixture = new RuntimeFixture('backups-schedule-fail');
    const timers = new ManualTimers();
    const blocker = join(fixture.dir, 'not-a-directory');
    try {
      const rt = await fixture.open({ clock: timers.clock, timers, backups: { every: 1000, dir: join(blocker, 'backups') } });
      writeFileSync(blocker, 'a file where the backup directory should go');
      await rt.state.set(a1, 'k', 0);
      await timers.advance(1000);
      await rt.backups.idle();
      await settle();
      const [failed] = await rt.events.query({ kinds: ['backup.failed'] });
      assert.ok(failed !== undefined, 'the failure is on record');
      assert.match((failed.data as { message: string }).message, /not-a-directory/);
      await rt.state.set(a1, 'k', 1);
      assert.equal(await rt.state.get(a1, 'k'), 1, 'writes go on');
    } finally {
      await fixture.dispose();
    }
  });
});

describe('the data directory and its active store', () => {
  it('refuses a damaged STORE pointer, and one that names a missing directory, creating nothing', async () => {
    const fixture = new RuntimeFixture('store-pointer');
    try {
      let rt = await fixture.open();
      await rt.state.set(a1, 'k', 1);
      const backup = await rt.backups.create();
      await rt.backups.restore({ id: backup.id });
      await rt.close();
      const pointer = join(fixture.dir, 'STORE');
      writeFileSync(pointer, '../../etc\n');
      assert.equal(await codeOf(createRuntime({ dataDir: fixture.dir })), 'DATA_CORRUPT');
      writeFileSync(pointer, 'db-missing\n');
      assert.equal(await codeOf(createRuntime({ dataDir: fixture.dir })), 'DATA_CORRUPT');
      assert.ok(!existsSync(join(fixture.dir, 'db-missing')), 'nothing was created in its place');
      writeFileSync(pointer, 'db\n');
      rt = await fixture.open();
      assert.equal(await storageOf(rt).location, join(fixture.dir, 'db'));
    } finally {
      await fixture.dispose();
    }
  });
});

describe('store directories a restore leaves', () => {
  it('refuses to open when the pointer is gone but a restored store is there, and never removes an unmarked directory', async () => {
    const fixture = new RuntimeFixture('store-leftovers');
    try {
      let rt = await fixture.open();
      await rt.state.set(a1, 'k', 'v1');
      const backup = await rt.backups.create();
      await rt.state.set(a1, 'k', 'v2');
      await rt.backups.restore({ id: backup.id });
      await rt.state.set(a1, 'k', 'after');
      await rt.close();
      const active = readdirSync(fixture.dir).find((name) => /^db-/.test(name) && !name.includes('.'))!;
      rmSync(join(fixture.dir, 'STORE'));
      assert.equal(await codeOf(createRuntime({ dataDir: fixture.dir })), 'DATA_CORRUPT');
      assert.ok(existsSync(join(fixture.dir, active, 'CURRENT')), 'the restored store is still there');
      writeFileSync(join(fixture.dir, 'STORE'), `${active}\n`);
      mkdirSync(join(fixture.dir, 'db-mine'));
      writeFileSync(join(fixture.dir, 'db-mine', 'notes.txt'), 'kept');
      rt = await fixture.open();
      assert.equal(await rt.state.get(a1, 'k'), 'after');
      await rt.close();
      assert.ok(existsSync(join(fixture.dir, 'db-mine', 'notes.txt')), 'a directory no restore made is left alone');
      assert.ok(!existsSync(join(fixture.dir, 'db')), 'the store the restore replaced is gone');
    } finally {
      await fixture.dispose();
    }
  });
});

describe('a restore that cannot start the runtime again', () => {
  it('says so with RESTORE_FAILED, and close() still releases the store', async () => {
    const fixture = new RuntimeFixture('restore-wedge');
    try {
      const rt = await fixture.open();
      await rt.state.set(a1, 'k', 'v1');
      const backup = await rt.backups.create();
      await rt.state.set(a1, 'k', 'v2');
      // The store fails from the moment the restore commits its batch: the batch, and then the restart.
      let failing = false;
      const refuse = () => {
        if (failing) throw new Error('the disk went away');
      };
      storageOf(rt).intercept({ beforeBatch: refuse, beforeGet: refuse });
      const restoring = rt.backups.restore({
        id: backup.id,
        scopes: [a1],
        onProgress: (progress) => {
          if (progress.phase === 'switch') failing = true;
        },
      });
      await assert.rejects(restoring, (error: Error & { code?: string }) => {
        assert.equal(error.code, 'RESTORE_FAILED');
        assert.match(error.message, /could not start again on it .*close it and open it again/);
        return true;
      });
      await assert.rejects(rt.state.get(a1, 'k'), /RUNTIME_CLOSED|restored/);
      await rt.close();
      const reopened = await fixture.open();
      assert.equal(await reopened.state.get(a1, 'k'), 'v2', 'the store was left as it was, and its lock released');
    } finally {
      await fixture.dispose();
    }
  });
});

describe('what the backups refuse to read or build on', () => {
  let fixture: RuntimeFixture;
  let rt: Runtime;

  beforeEach(async () => {
    fixture = new RuntimeFixture('backups-refusals');
    rt = await fixture.open();
    await rt.state.set(a1, 'k', 1);
  });
  afterEach(() => fixture.dispose());

  it('refuses ids that could name a file outside the backup directory', async () => {
    for (const id of ['../x', 'a/../../b', 'a\\b', '.hidden', '']) {
      await assert.rejects(rt.backups.get(id), TypeError, id);
      await assert.rejects(rt.backups.restore({ id }), TypeError, id);
    }
  });

  it('refuses a FIFO or a directory as a backup file, promptly, with BACKUP_NOT_FOUND', async () => {
    const fifo = join(fixture.dir, 'pipe.backup');
    execFileSync('mkfifo', [fifo]);
    assert.equal(await codeOf(rt.backups.restore({ from: fifo })), 'BACKUP_NOT_FOUND');
    assert.equal(await codeOf(rt.backups.restore({ from: fixture.dir })), 'BACKUP_NOT_FOUND');
    await rt.backups.create();
    execFileSync('mkfifo', [join(fixture.dir, 'backups', 'llmstate-fifo.backup')]);
    assert.equal((await rt.backups.list()).length, 1, 'list() skips what is not a file');
  });

  it('lists a copy of a backup under another name once, so that prune still works', async () => {
    const backup = await rt.backups.create();
    copyFileSync(backup.file, join(fixture.dir, 'backups', 'llmstate-copy.backup'));
    assert.deepEqual((await rt.backups.list()).map((listed) => listed.id), [backup.id]);
    assert.equal((await rt.backups.prune({ keepLast: 1 })).deleted.length, 0);
  });

  it('builds an increment only on a parent encrypted the same way, so that a chain reads with one key', async () => {
    await rt.backups.create({ key: 'first passphrase' });
    assert.equal(await codeOf(rt.backups.create({ incremental: true, key: 'second passphrase' })), 'BACKUP_FULL_REQUIRED');
    assert.equal(await codeOf(rt.backups.create({ incremental: true })), 'BACKUP_FULL_REQUIRED');
    const same = await rt.backups.create({ incremental: true, key: 'first passphrase' });
    assert.equal((await rt.backups.verify(same.id, { key: 'first passphrase' })).chain.length, 2);
  });

  it('leaves no fault armed by the core before a restore', async () => {
    const backup = await rt.backups.create();
    await rt.state.set(b1, 'k', 'b');
    rt.faults.failStorage({ scope: b1, op: 'get' });
    await rt.backups.restore({ id: backup.id, scopes: [a1] });
    assert.equal(await rt.state.get(b1, 'k'), 'b');
  });

  it('restores a scope named twice once', async () => {
    const backup = await rt.backups.create();
    await rt.state.set(a1, 'k', 2);
    const result = await rt.backups.restore({ id: backup.id, scopes: [a1, 'agent:a1'] });
    assert.deepEqual(result.scopes, ['agent:a1']);
    assert.equal(result.changes![0].changed, 1);
  });
});
