import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { LlmStateError, Scope, steps, type MigrationResult, type Runtime } from '../../src/index.js';
import { storageOf } from '../../src/runtime.js';
import { describePostgres, postgresQuery } from '../support/postgres.js';
import { holdBatch, SharedSchema, writesMarker } from './sharedSchema.js';

// Two runtimes on one schema stand for two processes. A migration run in one of them changes records
// of scopes the other may hold: it must never write over what the other wrote (docs/scale-out.md).

const ADA = Scope.agent('ada');
const BOB = Scope.agent('bob');

describePostgres('scale-out: a migration and the processes that write its records', function () {
  this.timeout(60_000);
  const shared = new SharedSchema();
  const close = (rt: Runtime) => shared.close(rt);

  /** A runtime whose code knows profile@1.0.0, bound to agents' `profile` keys. */
  async function start(owner: string): Promise<Runtime> {
    const rt = await shared.start(owner);
    await rt.schemas.register({ name: 'profile', version: '1.0.0', schema: z.object({ name: z.string() }) });
    await rt.schemas.bind('profile', { scopeKind: 'agent', keyPrefix: 'profile' });
    return rt;
  }

  /** The new version and its migration, as the code of the process that migrates knows them. */
  async function upgrade(rt: Runtime): Promise<void> {
    await rt.schemas.register({ name: 'profile', version: '2.0.0', schema: z.object({ fullName: z.string() }) });
    await rt.migrations.define({ schema: 'profile', from: '1.0.0', to: '2.0.0', steps: [steps.renameField('name', 'fullName')] });
  }

  /** B, ready to migrate both agents' profiles, which a process that has stopped wrote at 1.0.0. */
  async function migratorOfStoppedWriters(): Promise<Runtime> {
    const a = await start('a');
    await a.state.set(ADA, 'profile', { name: 'Ada' });
    await a.state.set(BOB, 'profile', { name: 'Bob' });
    await close(a);
    const b = await start('b');
    await upgrade(b);
    return b;
  }

  it('is refused while another process holds a scope it would change, changes nothing, and runs once that scope is let go', async () => {
    const a = await start('a');
    const b = await start('b');
    await a.state.set(ADA, 'profile', { name: 'Ada' });
    await b.state.set(BOB, 'profile', { name: 'Bob' });
    await upgrade(b);

    const refused = await b.migrations.run({ schema: 'profile', backup: false }).then(
      () => assert.fail('the migration ran while a held agent:ada'),
      (error: unknown) => error,
    );
    assert.ok(refused instanceof LlmStateError && refused.code === 'MIGRATION_FAILED', String(refused));
    assert.deepEqual(refused.details, { schema: 'profile', to: '2.0.0', scope: 'agent:ada', owner: 'a', reason: 'scope_in_use' });
    assert.match(refused.message, /agent:ada is active in another process \(a\).*nothing was changed/);

    // Nothing changed, nothing is left half done: both processes write on.
    assert.deepEqual(await a.state.get(ADA, 'profile'), { name: 'Ada' });
    assert.deepEqual(await b.state.get(BOB, 'profile'), { name: 'Bob' });
    await a.state.set(ADA, 'profile', { name: 'Ada Lovelace' });
    await b.state.set(BOB, 'profile', { fullName: 'Bob Kahn' });

    await close(a);
    // B remembers for up to a second that another process held agent:ada, and is refused meanwhile.
    let result: MigrationResult | undefined;
    while (result === undefined) {
      result = await b.migrations.run({ schema: 'profile', backup: false }).catch(async (error: unknown) => {
        if (!(error instanceof LlmStateError && (error.details as { reason?: string }).reason === 'scope_in_use')) throw error;
        await sleep(50);
        return undefined;
      });
    }
    assert.equal(result.migrated, 1);
    assert.equal(result.skipped, undefined);
    const c = await start('c');
    assert.deepEqual(await c.state.get(ADA, 'profile'), { fullName: 'Ada Lovelace' });
    assert.deepEqual(await c.state.get(BOB, 'profile'), { fullName: 'Bob Kahn' });
    assert.equal((await c.migrations.check()).ok, true);
  });

  it('refused, gives back the scopes it had taken, at once', async () => {
    const w = await start('w');
    await w.state.set(ADA, 'profile', { name: 'Ada' });
    await close(w);
    const a = await start('a');
    await a.state.set(BOB, 'profile', { name: 'Bob' });
    const b = await start('b');
    await upgrade(b);

    // agent:ada comes first, and is taken; agent:bob, which A holds, refuses the run.
    const refused = await b.migrations.run({ schema: 'profile', backup: false }).then(
      () => assert.fail('the migration ran while a held agent:bob'),
      (error: unknown) => error,
    );
    assert.equal((refused as LlmStateError).code, 'MIGRATION_FAILED');
    assert.equal(((refused as LlmStateError).details as { scope?: string }).scope, 'agent:bob');
    await a.state.set(ADA, 'profile', { name: 'Ada, written by a at once' });
    assert.deepEqual(await a.state.get(ADA, 'profile'), { name: 'Ada, written by a at once' });
  });

  it('gives a scope back when a read of its records fails while they are applied, and applies them on the next attempt', async () => {
    const a = await start('a');
    await a.state.set(ADA, 'profile', { name: 'Ada' });
    await close(a);
    const b = await start('b');
    await upgrade(b);
    let committed = false;
    let failures = 0;
    storageOf(b).intercept({
      beforeBatch: (ops) => {
        if (writesMarker(ops, 'committed')) committed = true;
      },
      beforeGet: (sublevel) => {
        if (committed && sublevel === 'state' && failures === 0) {
          failures++;
          throw new Error('injected: a read of a record being applied fails');
        }
      },
      interceptsReads: () => committed && failures === 0,
    });
    const result = await b.migrations.run({ schema: 'profile', backup: false });
    assert.equal(failures, 1);
    assert.equal(result.migrated, 1);
    // B holds agent:ada no more: another process writes it at once.
    const c = await start('c');
    await c.state.set(ADA, 'profile', { fullName: 'Ada, written by c' });
    assert.deepEqual(await c.state.get(ADA, 'profile'), { fullName: 'Ada, written by c' });
  });

  it('runs one at a time: a process that opens meanwhile leaves it be, and one that runs its own is refused', async () => {
    const b = await migratorOfStoppedWriters();

    // B's migration stops just before its commit, its journal written and marked prepared.
    const { reached, resume } = holdBatch(b, (ops) => writesMarker(ops, 'committed'));
    const running = b.migrations.run({ schema: 'profile', backup: false });
    await reached;
    try {
      const c = await start('c');
      await upgrade(c);
      const refused = await c.migrations.run({ schema: 'profile', backup: false }).then(
        () => assert.fail('a second migration ran while B ran one'),
        (error: unknown) => error as LlmStateError,
      );
      assert.deepEqual(refused.details, { schema: 'profile', to: '2.0.0', owner: 'b', reason: 'migration_in_progress' });
      await close(c);
    } finally {
      resume();
    }

    assert.equal((await running).migrated, 2);
    const d = await start('d');
    assert.deepEqual(await d.state.get(ADA, 'profile'), { fullName: 'Ada' });
    assert.deepEqual(await d.state.get(BOB, 'profile'), { fullName: 'Bob' });
  });

  it('leaves a record that another process wrote after the migration read it as that process wrote it', async () => {
    const b = await migratorOfStoppedWriters();

    // The migration has read the store; it has not yet claimed agent:ada when another process writes it.
    const { reached, resume } = holdBatch(b, (ops) => writesMarker(ops));
    const running = b.migrations.run({ schema: 'profile', backup: false });
    await reached;
    try {
      const a2 = await start('a2');
      await a2.state.set(ADA, 'profile', { fullName: 'Ada, written meanwhile' });
      await close(a2);
    } finally {
      resume();
    }

    const result = await running;
    assert.equal(result.migrated, 1);
    assert.equal(result.skipped, 1);
    const completed = (await b.events.query({ kinds: ['migration.completed'] })).at(-1);
    const data = completed?.data as { migrated?: number; skipped?: number } | undefined;
    assert.deepEqual({ migrated: data?.migrated, skipped: data?.skipped }, { migrated: 1, skipped: 1 });
    const c = await start('c');
    assert.deepEqual(await c.state.get(ADA, 'profile'), { fullName: 'Ada, written meanwhile' });
    assert.deepEqual(await c.state.get(BOB, 'profile'), { fullName: 'Bob' });
  });

  it('that lost its lease to another process after its commit logs nothing more, and leaves the journal to that process, which finishes it once', async () => {
    const b = await migratorOfStoppedWriters();
    const leases = `"${shared.schema.schema}".leases`;

    // Once the migration has committed, and before it applies its records, another process takes its
    // lease over: what a pause past the lease's time to live comes to.
    let committed = false;
    let resume!: () => void;
    const held = new Promise<void>((resolve) => (resume = resolve));
    let reach!: () => void;
    const reached = new Promise<void>((resolve) => (reach = resolve));
    const stop = storageOf(b).intercept({
      beforeBatch: (ops) => {
        if (writesMarker(ops, 'committed')) committed = true;
      },
      beforeGet: async (sublevel) => {
        if (!committed || sublevel !== 'state') return;
        committed = false;
        reach();
        await held;
      },
    });
    const running = b.migrations.run({ schema: 'profile', backup: false }).then(
      () => assert.fail('the migration succeeded with its lease lost'),
      (error: unknown) => error as LlmStateError,
    );
    try {
      await reached;
      await postgresQuery(`UPDATE ${leases} SET owner = 'thief', epoch = epoch + 1 WHERE resource = 'llmstate:migration'`);
    } finally {
      resume();
      stop();
    }
    const refused = await running;
    assert.equal(refused.code, 'MIGRATION_FAILED', refused.message);
    assert.deepEqual(refused.details, { id: refused.details?.id, schema: 'profile', to: '2.0.0', committed: true, reason: 'lease_lost' });
    assert.deepEqual(await migrationEvents(b), ['started'], 'B logs no completion');
    assert.ok(await storageOf(b).get('meta', Buffer.from('migration')), 'the marker is left for the process that took the lease');

    // The lease's new holder stops; a process that opens then finishes the journal, and logs it once.
    await postgresQuery(`UPDATE ${leases} SET expires_at = now() - interval '1 second' WHERE resource = 'llmstate:migration'`);
    const c = await start('c');
    assert.deepEqual(await migrationEvents(c), ['started', 'completed']);
    assert.equal(await storageOf(c).get('meta', Buffer.from('migration')), undefined);
    assert.deepEqual(await c.state.get(ADA, 'profile'), { fullName: 'Ada' });
    assert.deepEqual(await c.state.get(BOB, 'profile'), { fullName: 'Bob' });
  });

  it('that lost its lease to another process before its commit changes nothing, and that process logs the failure once', async () => {
    const b = await migratorOfStoppedWriters();
    const { reached, resume } = holdBatch(b, (ops) => writesMarker(ops, 'committed'));
    const running = b.migrations.run({ schema: 'profile', backup: false }).then(
      () => assert.fail('the migration succeeded with its lease lost'),
      (error: unknown) => error as LlmStateError,
    );
    try {
      await reached;
      await postgresQuery(`UPDATE "${shared.schema.schema}".leases SET owner = 'thief', epoch = epoch + 1, expires_at = now() - interval '1 second' WHERE resource = 'llmstate:migration'`);
    } finally {
      resume();
    }
    const refused = await running;
    assert.equal(refused.details?.reason, 'lease_lost', refused.message);
    assert.equal(refused.details?.committed, false);
    assert.deepEqual(await migrationEvents(b), ['started'], 'B logs no failure: the process that takes the lease over does');

    const c = await start('c');
    assert.deepEqual(await migrationEvents(c), ['started', 'failed']);
    assert.deepEqual(await c.state.get(ADA, 'profile'), { name: 'Ada' });
    assert.deepEqual(await c.state.get(BOB, 'profile'), { name: 'Bob' });
  });
});

/** The kinds of the migration events on record, in order, without their `migration.` prefix. */
async function migrationEvents(rt: Runtime): Promise<string[]> {
  const events = await rt.events.query({ kinds: ['migration.started', 'migration.completed', 'migration.failed'] });
  return events.map((event) => event.kind.slice('migration.'.length));
}
