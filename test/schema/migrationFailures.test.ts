import assert from 'node:assert/strict';
import { z } from 'zod';
import { createRuntime, LlmStateError, Scope, steps, type Runtime, type RuntimeOptions } from '../../src/index.js';
import { RuntimeFixture } from '../helpers.js';
import { schemaTagOf, withCode } from './helpers.js';

const { renameField, convert, addField } = steps;
const v1 = z.object({ name: z.string(), age: z.string() });
const v2 = z.object({ fullName: z.string(), age: z.number(), tags: z.array(z.string()) });

async function setUp(rt: Runtime, agents: number): Promise<void> {
  await rt.schemas.register({ name: 'profile', version: '1.0.0', schema: v1 });
  await rt.schemas.bind('profile', { scopeKind: 'agent', keyPrefix: 'profile' });
  for (let start = 0; start < agents; start += 500) {
    const writes: Promise<void>[] = [];
    for (let i = start; i < Math.min(agents, start + 500); i++) writes.push(rt.state.set(Scope.agent(`a${i}`), 'profile', { name: `Agent ${i}`, age: String(i % 90) }));
    await Promise.all(writes);
  }
  await rt.schemas.register({ name: 'profile', version: '2.0.0', schema: v2 });
  await rt.migrations.define({ schema: 'profile', from: '1.0.0', to: '2.0.0', steps: [renameField('name', 'fullName'), convert('age', 'number'), addField('tags', [])] });
}

describe('migrations when things go wrong', () => {
  let rt: Runtime;
  const open = async (options: Omit<RuntimeOptions, 'memory' | 'dataDir'> = {}) => (rt = await createRuntime({ memory: true, ...options }));
  afterEach(async () => {
    await rt?.close();
  });

  it('a write held by a migration commits even when its actor is passivated while it waits', async () => {
    await open({ memoryBudgetBytes: 2 * 1024 * 1024 });
    await setUp(rt, 5000);
    let held: Promise<void> | undefined;
    const result = await rt.migrations.run({
      schema: 'profile',
      onProgress: (progress) => {
        if (progress.phase === 'migrate' && held === undefined) held = rt.state.set(Scope.agent('a1'), 'profile', { fullName: 'Held', age: 1, tags: [] });
      },
    });
    await held;
    assert.equal(result.migrated, 5000);
    assert.ok(rt.metrics().actors.passivations > 0, 'the memory budget passivated actors meanwhile');
    assert.deepEqual(await rt.state.get(Scope.agent('a1'), 'profile'), { fullName: 'Held', age: 1, tags: [] });
  });

  it('a store that keeps failing while records are applied: MIGRATION_FAILED, no crash, and a later run finishes it', async () => {
    await open();
    await setUp(rt, 12_000);
    await assert.rejects(
      rt.migrations.run({
        schema: 'profile',
        onProgress: (progress) => {
          if (progress.phase === 'apply' && progress.done >= 1000) rt.faults.failStorage({ op: 'batch', count: 1000 });
        },
      }),
      (error: unknown) => {
        withCode('MIGRATION_FAILED')(error);
        assert.equal(((error as LlmStateError).details as { committed: boolean }).committed, true);
        return true;
      },
    );
    rt.faults.reset();
    // Committed: its keys are refused rather than served half migrated, and so is a backup of the store.
    const unapplied = [];
    for (let i = 0; i < 12_000; i += 1000) if ((await schemaTagOf(rt, Scope.agent(`a${i}`), 'profile')) === 'profile@1.0.0') unapplied.push(i);
    assert.ok(unapplied.length > 0, 'some records were left to apply');
    await assert.rejects(rt.state.get(Scope.agent(`a${unapplied[0]}`), 'profile'), withCode('MIGRATION_FAILED'));
    await rt.state.set(Scope.agent('a1'), 'notes', 'unbound keys go on');
    const again = await rt.migrations.run({ schema: 'profile' });
    assert.equal(again.migrated, 0);
    for (let i = 0; i < 12_000; i += 997) assert.equal(await schemaTagOf(rt, Scope.agent(`a${i}`), 'profile'), 'profile@2.0.0');
    assert.deepEqual(await rt.state.get(Scope.agent(`a${unapplied[0]}`), 'profile'), { fullName: `Agent ${unapplied[0]}`, age: unapplied[0] % 90, tags: [] });
    const completed = (await rt.events.query({ kinds: ['migration.completed'] })).map((event) => event.data as { migrated: number; id: string });
    assert.deepEqual(
      completed.map(({ migrated }) => migrated),
      [12_000, 0],
      'the failed migration completed once, by the run that finished it, and that run had nothing left of its own',
    );
    assert.equal(completed[1].id, again.id);
  });

  it('a progress callback that throws decides nothing', async () => {
    await open();
    await setUp(rt, 50);
    const result = await rt.migrations.run({
      schema: 'profile',
      onProgress: () => {
        throw new Error('progress bar closed');
      },
    });
    assert.equal(result.migrated, 50);
    assert.deepEqual(await rt.state.get(Scope.agent('a3'), 'profile'), { fullName: 'Agent 3', age: 3, tags: [] });
  });

  it('an async refinement is refused as SCHEMA_INVALID, not with an error of zod', async () => {
    await open();
    await rt.schemas.register({ name: 'note', version: '1.0.0', schema: z.string().refine(async () => true) });
    await rt.schemas.bind('note', { keyPrefix: 'note' });
    await assert.rejects(rt.state.set(Scope.global(), 'note', 'x'), (error: unknown) => {
      withCode('SCHEMA_INVALID')(error);
      assert.match((error as Error).message, /synchronously/);
      return true;
    });
  });
});

describe('backups while a migration is unfinished', () => {
  let fixture: RuntimeFixture;
  beforeEach(() => {
    fixture = new RuntimeFixture('migration-backup');
  });
  afterEach(async () => {
    await fixture.dispose();
  });

  it('refuses a backup of a store whose committed migration is not applied, until it is finished', async () => {
    const rt = await fixture.open();
    await setUp(rt, 3000);
    await assert.rejects(
      rt.migrations.run({
        schema: 'profile',
        backup: false,
        onProgress: (progress) => {
          if (progress.phase === 'apply' && progress.done >= 1000) rt.faults.failStorage({ op: 'batch', count: 1000 });
        },
      }),
      withCode('MIGRATION_FAILED'),
    );
    rt.faults.reset();
    await assert.rejects(rt.backups.create(), withCode('MIGRATION_FAILED'));
    await rt.migrations.run({ schema: 'profile', backup: false });
    const backup = await rt.backups.create();
    assert.ok(backup.records > 0);
  });
});
