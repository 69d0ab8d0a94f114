import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Scope, type Runtime } from '../../src/index.js';
import { storageOf } from '../../src/runtime.js';
import { decodeStateKey, scopeRange } from '../../src/state/keyCodec.js';
import { decodeRecord } from '../../src/storage/recordEnvelope.js';
import { SUBLEVELS, type SublevelName } from '../../src/storage/index.js';
import { describeEachStore, oneScopeOfEachKind, RuntimeFixture } from '../helpers.js';

const SCOPES = [...oneScopeOfEachKind(), Scope.agent('a2'), Scope.agent('a10')];
const TARGET = Scope.agent('a1');

/** Every record of a namespace, as hex key → hex value, raw. */
async function rawRecords(rt: Runtime, sublevel: SublevelName, range: { gte?: Buffer; lt?: Buffer } = {}): Promise<Map<string, string>> {
  const records = new Map<string, string>();
  for await (const [key, value] of storageOf(rt).iterate(sublevel, range)) records.set(key.toString('hex'), value.toString('hex'));
  return records;
}

/** The state records outside `scope`, raw. */
async function stateOutside(rt: Runtime, scope: Scope): Promise<Map<string, string>> {
  const { gte, lt } = scopeRange(scope);
  const below = await rawRecords(rt, 'state', { lt: gte });
  const above = await rawRecords(rt, 'state', { gte: lt });
  return new Map([...below, ...above]);
}

async function everything(rt: Runtime): Promise<Map<string, Map<string, string>>> {
  const all = new Map<string, Map<string, string>>();
  for (const sublevel of SUBLEVELS) all.set(sublevel, await rawRecords(rt, sublevel));
  return all;
}

async function valuesOf(rt: Runtime, scope: Scope): Promise<Record<string, unknown>> {
  const values: Record<string, unknown> = {};
  for (const key of await rt.state.listKeys(scope)) values[key] = await rt.state.get(scope, key);
  return values;
}

async function fill(rt: Runtime, round: string): Promise<void> {
  for (const scope of SCOPES) {
    for (let i = 0; i < 4; i++) await rt.state.set(scope, `k${i}`, { round, scope: scope.toString(), i, text: `${round} ${i}` });
  }
}

describeEachStore('restoring some scopes', function (store) {
  this.timeout(60_000);
  let fixture: RuntimeFixture;
  let rt: Runtime;
  let backupId: string;
  let backedUp: Record<string, unknown>;

  beforeEach(async () => {
    fixture = new RuntimeFixture('backup-props-partial', store);
    // A runtime on PostgreSQL has no data directory to keep its backups in.
    rt = await fixture.open({ backups: { dir: join(fixture.dir, 'backups') } });
    await fill(rt, 'before');
    await rt.state.set(TARGET, 'gone later', 'only in the backup');
    backedUp = await valuesOf(rt, TARGET);
    backupId = (await rt.backups.create()).id;
    // After the backup: every scope changes; the target gains keys, loses one, and changes others.
    await fill(rt, 'after');
    await rt.state.set(TARGET, 'new1', 1);
    await rt.state.set(TARGET, 'new2', 2);
    await rt.state.delete(TARGET, 'gone later');
    await rt.state.set(Scope.agent('a2'), 'extra', true);
    await rt.state.clearScope(Scope.custom('team'));
  });

  afterEach(() => fixture.dispose());

  it('replaces that scope exactly, deletes its keys absent from the backup, and leaves every other scope byte-identical', async () => {
    const othersBefore = await stateOutside(rt, TARGET);
    assert.ok(othersBefore.size > 20);
    const result = await rt.backups.restore({ id: backupId, scopes: [TARGET] });

    assert.equal(result.mode, 'scopes');
    assert.deepEqual(result.scopes, [TARGET.toString()]);
    assert.deepEqual(await stateOutside(rt, TARGET), othersBefore);
    assert.deepEqual(await valuesOf(rt, TARGET), backedUp);
    assert.equal(await rt.state.get(TARGET, 'new1'), undefined);

    assert.deepEqual(result.changes, [
      {
        scope: TARGET.toString(),
        added: 1,
        changed: 4,
        removed: 2,
        samples: { added: ['gone later'], changed: ['k0', 'k1', 'k2', 'k3'], removed: ['new1', 'new2'] },
      },
    ]);
    // The restore's changes are logged at its own sequence, so that they are in later increments.
    const restoredKeys = [];
    for await (const [key, value] of storageOf(rt).iterate('state', scopeRange(TARGET))) {
      restoredKeys.push(decodeStateKey(key)!.key);
      assert.equal(decodeRecord(value, { record: 'state value' }).seq, result.seq);
    }
    assert.deepEqual(restoredKeys.sort(), Object.keys(backedUp).sort());
    const logged = await rt.events.query({ scope: TARGET.toString(), kinds: ['state.*'], from: 0 });
    const atRestore = logged.filter((event) => event.seq === result.seq);
    assert.deepEqual(atRestore.map((event) => `${event.kind} ${event.key}`).sort(), [
      'state.delete new1',
      'state.delete new2',
      'state.set gone later',
      'state.set k0',
      'state.set k1',
      'state.set k2',
      'state.set k3',
    ]);
  });

  it('restores several scopes, one of them emptied since, and nothing else', async () => {
    const chosen = [TARGET, Scope.custom('team')];
    const others = async () => {
      const records = await rawRecords(rt, 'state');
      for (const scope of chosen) for (const key of (await rawRecords(rt, 'state', scopeRange(scope))).keys()) records.delete(key);
      return records;
    };
    const before = await others();
    const result = await rt.backups.restore({ id: backupId, scopes: chosen.map(String) });
    assert.deepEqual(await others(), before);
    assert.deepEqual(await valuesOf(rt, TARGET), backedUp);
    assert.deepEqual(Object.keys(await valuesOf(rt, Scope.custom('team'))), ['k0', 'k1', 'k2', 'k3']);
    assert.deepEqual(
      result.changes!.map(({ scope, added, changed, removed }) => ({ scope, added, changed, removed })).sort((a, b) => (a.scope < b.scope ? -1 : 1)),
      [
        { scope: TARGET.toString(), added: 1, changed: 4, removed: 2 },
        { scope: 'custom:team', added: 4, changed: 0, removed: 0 },
      ],
    );
  });

  it('writes to other scopes while it runs are either acknowledged and kept, or refused and leave no trace', async () => {
    const outcomes: Array<{ scope: Scope; key: string; value: number; ok: boolean; code?: string }> = [];
    let done = false;
    const writers = [Scope.agent('a2'), Scope.global(), Scope.session('s1'), Scope.agent('a10')].map(async (scope, n) => {
      // The runtime's namespaces are read afresh for every write: a restore replaces what is behind them.
      for (let i = 0; !done; i++) {
        const key = `during${n}-${i}`;
        try {
          await rt.state.set(scope, key, i);
          outcomes.push({ scope, key, value: i, ok: true });
        } catch (error) {
          outcomes.push({ scope, key, value: i, ok: false, code: (error as { code?: string }).code });
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
      }
    });
    while (outcomes.length < 20) await new Promise((resolve) => setImmediate(resolve));
    await rt.backups.restore({ id: backupId, scopes: [TARGET] });
    const afterRestore = outcomes.length;
    while (outcomes.length < afterRestore + 20) await new Promise((resolve) => setImmediate(resolve));
    done = true;
    await Promise.all(writers);
    assert.deepEqual(await valuesOf(rt, TARGET), backedUp);
    const refused = outcomes.filter((outcome) => !outcome.ok);
    for (const outcome of outcomes) {
      assert.equal(await rt.state.get(outcome.scope, outcome.key), outcome.ok ? outcome.value : undefined, `${outcome.scope}/${outcome.key} ${outcome.ok ? 'acknowledged' : `refused (${outcome.code})`}`);
    }
    console.log(`      ${outcomes.length - refused.length} writes acknowledged, ${refused.length} refused (${[...new Set(refused.map((outcome) => outcome.code))].join(', ')}) during the restore`);
  });

  it('a dry run writes nothing anywhere, and reports what would be added, changed and removed, with samples', async () => {
    const before = await everything(rt);
    const result = await rt.backups.restore({ id: backupId, scopes: [TARGET], dryRun: true });
    assert.deepEqual(await everything(rt), before);
    assert.equal(result.dryRun, true);
    assert.equal(result.seq, undefined);
    assert.equal(result.safetyBackupId, undefined);
    assert.deepEqual(result.changes, [
      {
        scope: TARGET.toString(),
        added: 1,
        changed: 4,
        removed: 2,
        samples: { added: ['gone later'], changed: ['k0', 'k1', 'k2', 'k3'], removed: ['new1', 'new2'] },
      },
    ]);
    assert.equal((await rt.backups.list()).length, 1, 'no safety backup');
  });

  it('a dry run of a whole restore reports every scope that would change, and writes nothing', async () => {
    const before = await everything(rt);
    const result = await rt.backups.restore({ id: backupId, dryRun: true });
    assert.deepEqual(await everything(rt), before);
    const byScope = Object.fromEntries(result.changes!.map(({ scope, added, changed, removed }) => [scope, { added, changed, removed }]));
    assert.deepEqual(byScope[TARGET.toString()], { added: 1, changed: 4, removed: 2 });
    assert.deepEqual(byScope['agent:a2'], { added: 0, changed: 4, removed: 1 });
    assert.deepEqual(byScope['custom:team'], { added: 4, changed: 0, removed: 0 });
    assert.equal(result.changes!.length, SCOPES.length);
  });

  it('samples at most five keys of each kind of change, while counting every one', async () => {
    for (let i = 0; i < 12; i++) await rt.state.set(TARGET, `more${String(i).padStart(2, '0')}`, i);
    const result = await rt.backups.restore({ id: backupId, scopes: [TARGET], dryRun: true });
    const [changes] = result.changes!;
    assert.equal(changes.removed, 14);
    assert.deepEqual(changes.samples.removed, ['more00', 'more01', 'more02', 'more03', 'more04']);
  });
});
