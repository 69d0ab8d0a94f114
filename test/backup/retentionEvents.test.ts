import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { Scope, type Runtime } from '../../src/index.js';
import type { BackupDescriptor } from '../../src/backup/Backups.js';
import { ManualClock, RuntimeFixture } from '../helpers.js';

const DAY = 24 * 60 * 60 * 1000;

describe('backup retention and backup events', function () {
  this.timeout(60_000);
  let fixture: RuntimeFixture;
  let clock: ManualClock;
  let rt: Runtime;

  beforeEach(async () => {
    fixture = new RuntimeFixture('backup-props-retention');
    clock = new ManualClock(Date.UTC(2026, 11, 1, 12));
    rt = await fixture.open({ clock });
  });
  afterEach(() => fixture.dispose());

  async function backupAfter(ms: number, incremental: boolean, note: string): Promise<BackupDescriptor> {
    clock.advance(ms);
    await rt.state.set(Scope.agent('a1'), note, { at: clock.now() });
    return rt.backups.create({ incremental });
  }

  /**
   * Day 0: full A, increments A1, A2. Day 1: full B (pinned), increment B1. Day 2: full C.
   * Day 3: full D, increment D1.
   */
  async function history() {
    const A = await backupAfter(0, false, 'a');
    const A1 = await backupAfter(1000, true, 'a1');
    const A2 = await backupAfter(1000, true, 'a2');
    const B = await backupAfter(DAY, false, 'b');
    const B1 = await backupAfter(1000, true, 'b1');
    const C = await backupAfter(DAY, false, 'c');
    const D = await backupAfter(DAY, false, 'd');
    const D1 = await backupAfter(1000, true, 'd1');
    await rt.backups.pin(B.id);
    return { A, A1, A2, B, B1, C, D, D1 };
  }

  it('prune deletes exactly what the plan says, never a pinned backup nor the parent of a kept increment, and logs one backup.pruned event with every decision', async () => {
    const { A, A1, A2, B, B1, C, D, D1 } = await history();
    assert.deepEqual([A1.parentId, A2.parentId, B1.parentId, D1.parentId], [A.id, A1.id, B.id, D.id]);
    const policy = { keepLast: 1, keepDaily: 2 };
    const plan = await rt.backups.plan(policy);
    const planned = Object.fromEntries(plan.decisions.map((decision) => [decision.id, decision.keep]));
    // keepLast keeps D1 and so D; keepDaily keeps the newest of days 3 and 2 (D1, C); B is pinned.
    assert.deepEqual(planned, { [A.id]: false, [A1.id]: false, [A2.id]: false, [B.id]: true, [B1.id]: false, [C.id]: true, [D.id]: true, [D1.id]: true });
    assert.ok(plan.decisions.find((decision) => decision.id === D.id)!.reasons.some((reason) => reason.includes(`parent of ${D1.id}`)));
    assert.ok(plan.decisions.find((decision) => decision.id === B.id)!.reasons.includes('pinned'));
    assert.equal((await rt.backups.list()).length, 8, 'plan changes nothing');

    const seqBefore = (await rt.events.query({ kinds: ['backup.pruned'] })).length;
    const result = await rt.backups.prune(policy);
    assert.deepEqual(result.plan, plan);
    assert.deepEqual(result.deleted.map(({ id }) => id).sort(), [A.id, A1.id, A2.id, B1.id].sort());
    assert.deepEqual(result.kept.map(({ id }) => id).sort(), [B.id, C.id, D.id, D1.id].sort());
    for (const backup of result.deleted) assert.equal(existsSync(backup.file), false, `${backup.id} is deleted`);
    for (const backup of result.kept) assert.equal(existsSync(backup.file), true, `${backup.id} is kept`);
    assert.deepEqual((await rt.backups.list()).map(({ id }) => id), [B.id, C.id, D.id, D1.id]);
    // The kept increment still restores: its parent is there.
    assert.deepEqual((await rt.backups.verify(D1.id)).chain.map(({ id }) => id), [D.id, D1.id]);

    const events = await rt.events.query({ kinds: ['backup.pruned'] });
    assert.equal(events.length, seqBefore + 1);
    const data = events.at(-1)!.data as { deleted: Array<{ id: string; reasons: string[] }>; kept: Array<{ id: string; reasons: string[] }> };
    const decisions = [...data.deleted.map((d) => ({ ...d, keep: false })), ...data.kept.map((d) => ({ ...d, keep: true }))];
    assert.deepEqual(
      decisions.sort((a, b) => (a.id < b.id ? -1 : 1)),
      plan.decisions.map(({ id, keep, reasons }) => ({ id, keep, reasons })).sort((a, b) => (a.id < b.id ? -1 : 1)),
    );
  });

  it('maxTotalBytes deletes the oldest deletable backups, never a pinned one nor a kept increment’s parent', async () => {
    const { A, B, B1, D, D1 } = await history();
    const result = await rt.backups.prune({ maxTotalBytes: D.bytes + D1.bytes + B.bytes });
    const kept = result.kept.map(({ id }) => id);
    assert.ok(kept.includes(B.id), 'the pinned backup is kept');
    assert.ok(kept.includes(D.id) && kept.includes(D1.id));
    assert.ok(!kept.includes(A.id) && !kept.includes(B1.id));
    for (const id of kept) {
      const backup = (await rt.backups.get(id))!;
      if (backup.parentId !== null) assert.ok(kept.includes(backup.parentId), `the parent of ${id} is kept`);
    }
    assert.equal((await rt.events.query({ kinds: ['backup.pruned'] })).length, 1);
  });

  it('a prune that deletes nothing is still logged', async () => {
    await history();
    const result = await rt.backups.prune({ keepLast: 100 });
    assert.equal(result.deleted.length, 0);
    const [event] = await rt.events.query({ kinds: ['backup.pruned'] });
    assert.deepEqual((event.data as { deleted: unknown[] }).deleted, []);
    assert.equal((event.data as { kept: unknown[] }).kept.length, 8);
  });

  it('create logs backup.created, verify backup.verified and restore backup.restored, with what they did', async () => {
    const full = await backupAfter(0, false, 'x');
    const increment = await backupAfter(1000, true, 'y');
    const created = await rt.events.query({ kinds: ['backup.created'] });
    assert.deepEqual(
      created.map((event) => event.data),
      [full, increment].map(({ id, kind, parentId, seq, records, bytes, reason }) => ({ id, kind, parentId, seq, records, bytes, reason })),
    );
    assert.ok(created[0].seq > full.seq, 'the event follows the snapshot it describes');

    await rt.backups.verify(increment.id);
    const [verified] = await rt.events.query({ kinds: ['backup.verified'] });
    assert.deepEqual(verified.data, { id: increment.id, chain: [full.id, increment.id] });

    const result = await rt.backups.restore({ id: full.id });
    const [restored] = await rt.events.query({ kinds: ['backup.restored'] });
    assert.equal(restored.seq, result.seq);
    assert.deepEqual(restored.data, { id: full.id, mode: 'full', restoredSeq: full.seq, safetyBackupId: result.safetyBackupId });

    const scoped = await rt.backups.restore({ id: increment.id, scopes: [Scope.agent('a1')] });
    const restores = await rt.events.query({ kinds: ['backup.restored'] });
    assert.equal(restores.length, 2);
    assert.deepEqual(restores[1].data, { id: increment.id, mode: 'scopes', restoredSeq: increment.seq, scopes: ['agent:a1'], safetyBackupId: scoped.safetyBackupId });
    assert.deepEqual(await rt.state.listKeys(Scope.agent('a1')), ['x', 'y']);
  });

  it('the safety backup a restore takes is logged as backup.created, with reason safety', async () => {
    const full = await backupAfter(0, false, 'x');
    const result = await rt.backups.restore({ id: full.id });
    const safety = await rt.backups.get(result.safetyBackupId!);
    assert.equal(safety.reason, 'safety');
    // The full backup's own event came after its snapshot: it belongs to the history the restore replaced.
    const created = await rt.events.query({ kinds: ['backup.created'] });
    assert.deepEqual(
      created.map((event) => event.data),
      [{ id: safety.id, kind: safety.kind, parentId: safety.parentId, seq: safety.seq, records: safety.records, bytes: safety.bytes, reason: 'safety' }],
    );
    assert.equal(created[0].seq, result.seq);

    const scoped = await rt.backups.restore({ id: full.id, scopes: [Scope.agent('a1')] });
    const safeties = await rt.events.query({ kinds: ['backup.created'] });
    assert.deepEqual(
      safeties.map((event) => [(event.data as { id: string }).id, event.seq]),
      [
        [safety.id, result.seq],
        [scoped.safetyBackupId, scoped.seq],
      ],
    );
  });

  it('a dry run logs no backup.restored, and takes no safety backup', async () => {
    const full = await backupAfter(0, false, 'x');
    await rt.backups.restore({ id: full.id, dryRun: true });
    assert.deepEqual(await rt.events.query({ kinds: ['backup.restored'] }), []);
    assert.equal((await rt.backups.list()).length, 1);
  });
});
