import assert from 'node:assert/strict';
import { z } from 'zod';
import { createRuntime, LlmStateError, Scope, steps, type Runtime } from '../../src/index.js';
import { storageOf } from '../../src/runtime.js';
import { encodeStateKey } from '../../src/state/keyCodec.js';
import { encodeRecord } from '../../src/storage/recordEnvelope.js';
import { SUBLEVELS } from '../../src/storage/index.js';
import { RuntimeFixture } from '../helpers.js';
import { schemaTagOf, withCode } from './helpers.js';

const { renameField, convert, addField, custom } = steps;
const v1 = z.object({ name: z.string(), age: z.string() });
const v2 = z.object({ fullName: z.string(), age: z.number(), tags: z.array(z.string()) });

async function setUp(rt: Runtime, agents: number, beforeVersion2?: () => Promise<void>): Promise<void> {
  await rt.schemas.register({ name: 'profile', version: '1.0.0', schema: v1 });
  await rt.schemas.bind('profile', { scopeKind: 'agent', keyPrefix: 'profile' });
  const writes: Promise<void>[] = [];
  for (let i = 0; i < agents; i++) {
    writes.push(rt.state.set(Scope.agent(`a${i}`), 'profile', { name: `Agent ${i}`, age: String(20 + (i % 50)) }));
    writes.push(rt.state.set(Scope.agent(`a${i}`), 'notes', { n: i }));
  }
  await Promise.all(writes);
  await beforeVersion2?.();
  await rt.schemas.register({ name: 'profile', version: '2.0.0', schema: v2 });
  await rt.migrations.define({ schema: 'profile', from: '1.0.0', to: '2.0.0', steps: [renameField('name', 'fullName'), convert('age', 'number'), addField('tags', [])] });
}

/** Every record of every namespace but `migrations` and `meta`, raw. */
async function snapshotOf(rt: Runtime): Promise<string> {
  const parts: string[] = [];
  for (const sublevel of SUBLEVELS) {
    if (sublevel === 'backups') continue;
    for await (const [key, value] of storageOf(rt).iterate(sublevel)) parts.push(`${sublevel} ${key.toString('hex')} ${value.toString('hex')}`);
  }
  return parts.join('\n');
}

async function stateOf(rt: Runtime): Promise<string> {
  const parts: string[] = [];
  for await (const [key, value] of storageOf(rt).iterate('state')) parts.push(`${key.toString('hex')} ${value.toString('hex')}`);
  return parts.join('\n');
}

describe('rt.migrations', () => {
  let rt: Runtime;
  beforeEach(async () => {
    rt = await createRuntime({ memory: true });
  });
  afterEach(async () => {
    await rt.close();
  });

  it('plans the chain of versions and counts the records at each', async () => {
    await setUp(rt, 20);
    const plan = await rt.migrations.plan('profile');
    assert.equal(plan.to, '2.0.0');
    assert.equal(plan.records, 20);
    assert.deepEqual(plan.byVersion, { '1.0.0': 20 });
    assert.deepEqual(plan.chains.map((chain) => [chain.from, chain.records, chain.steps.map((step) => `${step.from}>${step.to}`)]), [['1.0.0', 20, ['1.0.0>2.0.0']]]);
  });

  it('fails to plan with MIGRATION_NO_PATH, naming the missing step', async () => {
    await setUp(rt, 3);
    await rt.schemas.register({ name: 'profile', version: '3.0.0', schema: z.object({ fullName: z.string() }) });
    await assert.rejects(rt.migrations.plan('profile'), (error: unknown) => {
      withCode('MIGRATION_NO_PATH')(error);
      assert.match((error as Error).message, /2\.0\.0/);
      assert.equal(((error as LlmStateError).details as { records: number }).records, 3);
      return true;
    });
    await assert.rejects(rt.migrations.run({ schema: 'profile' }), withCode('MIGRATION_NO_PATH'));
  });

  it('checks before a deploy: migratable records pass, a planted unmigratable one fails with its place', async () => {
    await setUp(rt, 10);
    let report = await rt.migrations.check();
    assert.equal(report.ok, true);
    assert.deepEqual(report.counts, { checked: 10, current: 0, migratable: 10, failed: 0 });
    // A record written around the runtime, that no version of the schema accepts.
    const planted = encodeRecord({ seq: 1, timestamp: Date.now() }, JSON.stringify({ nickname: 'x' }));
    await storageOf(rt).batch([{ type: 'put', sublevel: 'state', key: encodeStateKey(Scope.agent('z9'), 'profile'), value: planted }]);
    report = await rt.migrations.check();
    assert.equal(report.ok, false);
    assert.equal(report.counts.failed, 1);
    assert.deepEqual(report.failures.map(({ scope, key, version }) => ({ scope, key, version })), [{ scope: 'agent:z9', key: 'profile', version: 'unversioned' }]);
  });

  it('reports a record whose migration would fail in check, with the step and the reason', async () => {
    await setUp(rt, 2, () => rt.state.set(Scope.agent('odd'), 'profile', { name: 'Odd', age: 'forty' }));
    const report = await rt.migrations.check();
    assert.equal(report.ok, false);
    assert.equal(report.failures[0].scope, 'agent:odd');
    assert.match(report.failures[0].reason, /forty/);
  });

  it('rehearses with dryRun: counts and samples, and nothing written', async () => {
    await setUp(rt, 12);
    const before = await snapshotOf(rt);
    const result = await rt.migrations.run({ schema: 'profile', dryRun: true, samples: 2 });
    assert.equal(result.dryRun, true);
    assert.equal(result.migrated, 12);
    assert.deepEqual(result.byVersion, { '1.0.0': 12 });
    assert.equal(result.samples.length, 2);
    assert.deepEqual(result.samples[0].before, { name: 'Agent 0', age: '20' });
    assert.deepEqual(result.samples[0].after, { fullName: 'Agent 0', age: 20, tags: [] });
    assert.equal(await snapshotOf(rt), before);
  });

  it('runs: every record migrated and tagged, other keys untouched, logged under the migration id', async () => {
    await setUp(rt, 30);
    const progress: string[] = [];
    const result = await rt.migrations.run({ schema: 'profile', onProgress: (p) => progress.push(p.phase) });
    assert.equal(result.migrated, 30);
    assert.ok(progress.includes('migrate') && progress.includes('apply'));
    for (let i = 0; i < 30; i++) {
      assert.deepEqual(await rt.state.get(Scope.agent(`a${i}`), 'profile'), { fullName: `Agent ${i}`, age: 20 + (i % 50), tags: [] });
      assert.equal(await schemaTagOf(rt, Scope.agent(`a${i}`), 'profile'), 'profile@2.0.0');
      assert.deepEqual(await rt.state.get(Scope.agent(`a${i}`), 'notes'), { n: i });
    }
    const events = await rt.events.query({ correlationId: result.id });
    assert.equal(events.filter((event) => event.kind === 'state.set').length, 30);
    const kinds = (await rt.events.query({ kinds: ['migration.*'] })).map((event) => event.kind);
    assert.deepEqual(kinds, ['migration.defined', 'migration.started', 'migration.completed']);
    assert.equal((await rt.migrations.check()).counts.current, 30);
    const again = await rt.migrations.run({ schema: 'profile' });
    assert.equal(again.migrated, 0, 'nothing left to migrate');
  });

  it('is all or nothing: a step that throws on one record leaves the store byte-identical and names the record', async () => {
    await setUp(rt, 40);
    await rt.migrations.define({
      schema: 'profile',
      from: '1.0.0',
      to: '2.0.0',
      steps: [
        renameField('name', 'fullName'),
        convert('age', 'number'),
        addField('tags', []),
        custom((value: { fullName: string }) => {
          if (value.fullName === 'Agent 33') throw new Error('no thirty-three');
          return value;
        }, 'refuse33'),
      ],
    });
    const before = await stateOf(rt);
    await assert.rejects(rt.migrations.run({ schema: 'profile' }), (error: unknown) => {
      withCode('MIGRATION_FAILED')(error);
      const details = (error as LlmStateError).details as { scope: string; key: string };
      assert.equal(details.scope, 'agent:a33');
      assert.equal(details.key, 'profile');
      assert.match((error as Error).message, /no thirty-three/);
      return true;
    });
    assert.equal(await stateOf(rt), before);
    const failed = await rt.events.query({ kinds: ['migration.failed'] });
    assert.equal(failed.length, 1);
    await rt.state.set(Scope.agent('after'), 'x', 1);
    assert.equal(await rt.state.get(Scope.agent('after'), 'x'), 1, 'the runtime keeps working');
  });

  it('refuses a migrated record that fails the target schema, before writing anything', async () => {
    await setUp(rt, 5);
    await rt.migrations.define({ schema: 'profile', from: '1.0.0', to: '2.0.0', steps: [renameField('name', 'fullName'), convert('age', 'number')] });
    const before = await stateOf(rt);
    await assert.rejects(rt.migrations.run({ schema: 'profile' }), (error: unknown) => {
      withCode('MIGRATION_FAILED')(error);
      assert.match((error as Error).message, /tags/);
      return true;
    });
    assert.equal(await stateOf(rt), before);
  });

  it('leaves the store as it was when the store fails part way through', async () => {
    await setUp(rt, 2500);
    const before = await stateOf(rt);
    let armed = false;
    await assert.rejects(
      rt.migrations.run({
        schema: 'profile',
        onProgress: (progress) => {
          if (progress.phase === 'migrate' && progress.done >= 1000 && !armed) {
            armed = true;
            rt.faults.failStorage({ op: 'batch', count: 1 });  // the next batch: the journal's
          }
        },
      }),
      withCode('STORAGE_FAILED'),
    );
    assert.ok(armed);
    assert.equal(await stateOf(rt), before);
    let journal = 0;
    for await (const _ of storageOf(rt).iterate('migrations')) journal++;
    assert.equal(journal, 0, 'the journal is discarded');
    const result = await rt.migrations.run({ schema: 'profile' });
    assert.equal(result.migrated, 2500, 'a later run succeeds');
  });

  it('holds writes to the migrated keys until it ends, then validates them against the new version; other writes go on', async () => {
    await setUp(rt, 2000);
    let during: Promise<void> | undefined;
    let other: Promise<void> | undefined;
    let otherDone = false;
    const running = rt.migrations.run({
      schema: 'profile',
      onProgress: (progress) => {
        if (progress.phase === 'migrate' && during === undefined) {
          during = rt.state.set(Scope.agent('a5'), 'profile', { fullName: 'Written during', age: 1, tags: ['new'] });
          other = rt.state.set(Scope.agent('a5'), 'notes', { n: 'during' }).then(() => {
            otherDone = true;
          });
        }
      },
    });
    const result = await running;
    await other;
    await during;
    assert.equal(result.migrated, 2000);
    assert.ok(otherDone);
    assert.deepEqual(await rt.state.get(Scope.agent('a5'), 'profile'), { fullName: 'Written during', age: 1, tags: ['new'] }, 'the held write is not lost');
    assert.equal(await schemaTagOf(rt, Scope.agent('a5'), 'profile'), 'profile@2.0.0');
  });

  it('migrates records written before the schema was bound, by the newest version that accepts them', async () => {
    await rt.state.set(Scope.agent('early'), 'profile', { name: 'Early', age: '5' });
    await setUp(rt, 1);
    const plan = await rt.migrations.plan('profile');
    assert.deepEqual(plan.byVersion, { '1.0.0': 2 });
    await rt.migrations.run({ schema: 'profile' });
    assert.deepEqual(await rt.state.get(Scope.agent('early'), 'profile'), { fullName: 'Early', age: 5, tags: [] });
  });

  it('follows a chain through intermediate versions', async () => {
    await setUp(rt, 3);
    await rt.schemas.register({ name: 'profile', version: '3.0.0', schema: v2.extend({ active: z.boolean() }) });
    await rt.migrations.define({ schema: 'profile', from: '2.0.0', to: '3.0.0', steps: [addField('active', true)] });
    const plan = await rt.migrations.plan('profile');
    assert.deepEqual(plan.chains[0].steps.map((step) => `${step.from}>${step.to}`), ['1.0.0>2.0.0', '2.0.0>3.0.0']);
    await rt.migrations.run({ schema: 'profile' });
    assert.deepEqual(await rt.state.get(Scope.agent('a1'), 'profile'), { fullName: 'Agent 1', age: 21, tags: [], active: true });
  });
});

describe('rt.migrations on disk', () => {
  let fixture: RuntimeFixture;
  beforeEach(() => {
    fixture = new RuntimeFixture('migrations');
  });
  afterEach(async () => {
    await fixture.dispose();
  });

  it('takes a backup first, from which the store before the migration can be restored', async () => {
    const rt = await fixture.open();
    await setUp(rt, 10);
    const result = await rt.migrations.run({ schema: 'profile' });
    assert.ok(result.backupId !== undefined);
    const [backup] = await rt.backups.list();
    assert.equal(backup.id, result.backupId);
    assert.deepEqual((await rt.events.query({ kinds: ['migration.started'] }))[0].data, {
      id: result.id,
      schema: 'profile',
      to: '2.0.0',
      backupId: result.backupId,
    });
    await rt.backups.restore({ id: result.backupId! });
    assert.deepEqual(await rt.state.get(Scope.agent('a3'), 'profile'), { name: 'Agent 3', age: '23' });
  });

  it('finishes a committed migration when the store is opened again', async () => {
    let rt = await fixture.open();
    await setUp(rt, 10);
    await rt.migrations.run({ schema: 'profile' });
    rt = await fixture.reopen(rt);
    assert.deepEqual(await rt.state.get(Scope.agent('a3'), 'profile'), { fullName: 'Agent 3', age: 23, tags: [] });
  });
});
