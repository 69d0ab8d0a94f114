import assert from 'node:assert/strict';
import { BACKUP_COVERAGE, backedUpSublevels } from '../../src/backup/coverage.js';
import { decodeSeqKey, encodeSeqKey } from '../../src/events/eventLog.js';
import { Scope, type Runtime } from '../../src/index.js';
import { storageOf } from '../../src/runtime.js';
import { SUBLEVELS, type SublevelName } from '../../src/storage/index.js';
import { RuntimeFixture } from '../helpers.js';

const FAILS = new URL('../fixtures/hooks/fails.mjs', import.meta.url);
const RECORDER = new URL('../fixtures/hooks/recorder.mjs', import.meta.url);

/** Every record of a namespace, raw, as hex `key value` lines. */
async function recordsOf(rt: Runtime, sublevel: SublevelName): Promise<string[]> {
  const records: string[] = [];
  for await (const [key, value] of storageOf(rt).iterate(sublevel)) records.push(`${key.toString('hex')} ${value.toString('hex')}`);
  return records;
}

/** A store with records in every namespace a backup holds. */
async function fillEveryNamespace(rt: Runtime): Promise<void> {
  await rt.hooks.register({ name: 'audit', builtin: 'audit', on: ['state.*', 'scope.clear'] });
  await rt.hooks.register({ name: 'recorder', module: RECORDER, on: ['state.set'] });
  await rt.hooks.register({ name: 'refuses', module: FAILS, on: ['state.set'], maxAttempts: 1, filter: { keyPrefix: 'bad' } });
  await rt.hooks.register({ name: 'parked', module: RECORDER, on: ['state.set'], filter: { keyPrefix: 'parked' } });
  await rt.hooks.disable('parked', 'held so that its deliveries wait in the outbox');
  for (let i = 0; i < 30; i++) {
    await rt.correlate(() => rt.state.set(Scope.agent('a1'), `note${i}`, { i, text: `note ${i}` }), `turn-${i}`);
  }
  await rt.state.set(Scope.global(), 'bad value', { fail: true, note: 'dead-lettered' });
  await rt.state.set(Scope.workflow('w1'), 'parked delivery', { waits: true });
  await rt.state.clearScope(Scope.session('s1'));
  await rt.hooks.idle();
  // Retention removes the oldest commits, so a backup must carry the high-water mark of what it removed.
  await rt.events.prune({ maxCount: 20 });
  await rt.agents.spawn({ id: 'a1', type: 'assistant', config: { model: 'small' } });
  await rt.access.grant({ principal: 'agent:a2', scope: Scope.agent('a1'), permissions: ['read'] });
  await rt.access.quarantine('a9', { reason: 'kept across restores' });
  const session = await rt.sessions.start({ id: 's2', ttlMs: 3_600_000, metadata: { user: 'u1' } });
  await rt.sessions.linkArtifact('report.pdf', { sessionId: session.id, scope: Scope.agent('a1'), key: 'note3', kind: 'file' });
}

describe('what a backup holds', function () {
  this.timeout(60_000);

  it('every sublevel is either backed up or excluded with a reason, and nothing else is listed', () => {
    assert.deepEqual(Object.keys(BACKUP_COVERAGE).sort(), [...SUBLEVELS].sort());
    for (const [sublevel, coverage] of Object.entries(BACKUP_COVERAGE)) {
      if (typeof coverage === 'string') assert.ok(['state', 'events', 'eventIndex', 'whole'].includes(coverage), sublevel);
      else assert.ok(coverage.excluded.length > 20, `${sublevel} says why it is excluded`);
    }
    assert.deepEqual(backedUpSublevels(), SUBLEVELS.filter((sublevel) => sublevel !== 'backups' && sublevel !== 'migrations'));
  });

  describe('a full backup of a store with data in every namespace', () => {
    let fixture: RuntimeFixture;
    let target: RuntimeFixture;
    let rt: Runtime;

    beforeEach(async () => {
      fixture = new RuntimeFixture('backup-props-coverage');
      target = new RuntimeFixture('backup-props-coverage-target');
      rt = await fixture.open();
    });
    afterEach(async () => {
      await fixture.dispose();
      await target.dispose();
    });

    it('restores each namespace byte-identical, into the same runtime and into an empty data directory', async () => {
      await fillEveryNamespace(rt);
      const before = new Map<SublevelName, string[]>();
      for (const sublevel of backedUpSublevels()) {
        before.set(sublevel, await recordsOf(rt, sublevel));
        assert.ok(before.get(sublevel)!.length > 0, `the store has records in ${sublevel}`);
      }
      const backup = await rt.backups.create();
      await rt.state.set(Scope.agent('a1'), 'after the backup', true);

      const result = await rt.backups.restore({ id: backup.id });
      const other = await target.open();
      const fromFile = await other.backups.restore({ from: backup.file });

      for (const [restored, restoreSeq] of [
        [rt, result.seq!],
        [other, fromFile.seq!],
      ] as const) {
        for (const sublevel of backedUpSublevels()) {
          let records = await recordsOf(restored, sublevel);
          // The restore's own commit follows the backup's records.
          if (sublevel === 'events') records = records.filter((line) => decodeSeqKey(Buffer.from(line.split(' ')[0], 'hex')) < restoreSeq);
          if (sublevel === 'eventsByCorrelation' || sublevel === 'eventsByAgent') records = records.filter((line) => !line.split(' ')[0].endsWith(encodeSeqKey(restoreSeq).toString('hex')));
          assert.deepEqual(records, before.get(sublevel), `${sublevel} is byte-identical after restoring into ${restored === rt ? 'the same runtime' : 'an empty data directory'}`);
        }
      }
      assert.equal(await rt.state.get(Scope.agent('a1'), 'after the backup'), undefined);
      await other.close();
    });

    it('an incremental backup, after changes and deletions in every namespace, restores each namespace byte-identical', async () => {
      await fillEveryNamespace(rt);
      await rt.backups.create();
      // Changes of every kind since the full backup: new, changed and deleted records.
      for (let i = 0; i < 10; i++) await rt.state.set(Scope.agent('a2'), `note${i}`, i);
      await rt.state.delete(Scope.agent('a1'), 'note29');
      await rt.state.clearScope(Scope.workflow('w1'));
      await rt.hooks.unregister('recorder');
      await rt.hooks.register({ name: 'recorder2', module: RECORDER, on: ['state.delete'] });
      await rt.state.delete(Scope.agent('a1'), 'note28');
      await rt.state.set(Scope.global(), 'bad again', { fail: true });
      await rt.agents.spawn({ id: 'a2', type: 'assistant' });
      await rt.agents.delete('a1');
      await rt.hooks.idle();
      // Retention removes commits the full backup holds, but none after it: the increment can still be built.
      const pruned = await rt.events.prune({ maxCount: 30 });
      assert.ok(pruned.removedRecords > 0);
      const before = new Map<SublevelName, string[]>();
      for (const sublevel of backedUpSublevels()) before.set(sublevel, await recordsOf(rt, sublevel));
      const increment = await rt.backups.create({ incremental: true });
      assert.equal(increment.kind, 'incremental');
      await rt.state.set(Scope.agent('a2'), 'after the backup', true);

      const result = await rt.backups.restore({ id: increment.id });
      for (const sublevel of backedUpSublevels()) {
        let records = await recordsOf(rt, sublevel);
        if (sublevel === 'events') records = records.filter((line) => decodeSeqKey(Buffer.from(line.split(' ')[0], 'hex')) < result.seq!);
        if (sublevel === 'eventsByCorrelation' || sublevel === 'eventsByAgent') records = records.filter((line) => !line.split(' ')[0].endsWith(encodeSeqKey(result.seq!).toString('hex')));
        assert.deepEqual(records, before.get(sublevel), `${sublevel} is byte-identical`);
      }
    });

    it('refuses an increment with BACKUP_FULL_REQUIRED once retention removed commits after its parent, rather than miss deletions', async () => {
      for (let i = 0; i < 5; i++) await rt.state.set(Scope.agent('a1'), `note${i}`, i);
      const full = await rt.backups.create();
      await rt.state.delete(Scope.agent('a1'), 'note0');
      for (let i = 0; i < 5; i++) await rt.state.set(Scope.agent('a2'), `note${i}`, i);
      const pruned = await rt.events.prune({ maxCount: 2 });
      assert.ok(pruned.oldestSeq! > full.seq + 2, `retention removed the commits after the backup, up to ${pruned.oldestSeq}`);
      await assert.rejects(rt.backups.create({ incremental: true }), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'BACKUP_FULL_REQUIRED');
        assert.match(error.message, new RegExp(`${full.id}.*Take a full backup`));
        return true;
      });
      assert.equal((await rt.backups.create()).kind, 'full');
    });
  });
});
