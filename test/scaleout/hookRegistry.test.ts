import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Scope, type Runtime } from '../../src/index.js';
import { openGate, registerScripted } from '../hooks/hookHelpers.js';
import { tempDir } from '../helpers.js';
import { describePostgres, postgresQuery } from '../support/postgres.js';
import { SharedSchema, until } from './sharedSchema.js';

// Two runtimes on one schema stand for two processes: what one changes of the hook registrations reaches
// the other while it runs (docs/scale-out.md, "Hooks across processes").

describePostgres('scale-out: hook registrations made in one process reach the others while they run', function () {
  this.timeout(60_000);
  const shared = new SharedSchema();
  const start = (owner: string, hooks: { autoStart?: boolean; closeGraceMs?: number } = {}) => shared.start(owner, { hooks });

  async function outboxKeys(): Promise<string[]> {
    const rows = await postgresQuery<{ key: Buffer }>(`SELECT key FROM "${shared.schema.schema}".records WHERE sublevel = 'outbox'`);
    return rows.map((row) => row.key.toString('hex'));
  }

  /** The ids of the events of `rt`'s sets of `key`. */
  async function setEventIds(rt: Runtime, key: string): Promise<string[]> {
    return (await rt.events.query({ kinds: ['state.set'] })).filter((event) => event.key === key).map((event) => event.id);
  }

  async function succeededFor(rt: Runtime, hookName: string, eventId: string): Promise<boolean> {
    return (await rt.hooks.history({ hookName, eventId, status: 'succeeded' })).length > 0;
  }

  /**
   * A runs an execution of gated hook `name`, held at its gate, for a set of `agent:ada`'s `k`; B, which
   * delivers no hook (as the command line), has heard of the hook.
   */
  async function runningInA(name: string, hooks: { closeGraceMs?: number } = {}): Promise<{ a: Runtime; b: Runtime; gate: string; eventId: string }> {
    const gate = join(tempDir().dir, 'gate');
    const a = await start('a', hooks);
    const b = await start('b', { autoStart: false });
    await registerScripted(a, name, { gate }, { timeoutMs: 600_000 });
    await until(() => b.hooks.get(name) !== undefined);
    await a.state.set(Scope.agent('ada'), 'k', 1);
    const [eventId] = await setEventIds(a, 'k');
    await until(() => a.hooks.get(name)?.inFlight === 1);
    return { a, b, gate, eventId };
  }

  it('a hook registered in B stages the deliveries of A\'s commits too, and B runs them', async () => {
    const a = await start('a');
    const b = await start('b');
    await registerScripted(b, 'h');
    await until(() => a.hooks.get('h') !== undefined);

    await a.state.set(Scope.agent('ada'), 'from-a', 1);
    const [eventId] = await setEventIds(a, 'from-a');
    // B holds the hook's delivery, and reads what A's commits staged from the outbox.
    await until(() => succeededFor(b, 'h', eventId));
  });

  it('disabled through B, the hook stops in A, which delivers it; enabled again, what waited runs', async () => {
    const a = await start('a');
    // B delivers no hook (as the command line): A, which registers the hook, is the one that delivers it.
    const b = await start('b', { autoStart: false });
    await registerScripted(a, 'h');
    await until(() => b.hooks.get('h') !== undefined);

    assert.equal(await b.hooks.disable('h', 'an operator stops it'), true);
    await until(() => a.hooks.get('h')?.disabled !== undefined);
    assert.equal(a.hooks.get('h')?.disabled?.reason, 'an operator stops it');
    await a.state.set(Scope.agent('ada'), 'while-disabled', 1);
    const [eventId] = await setEventIds(a, 'while-disabled');
    await until(() => a.hooks.get('h')?.pending === 1);
    assert.equal(await succeededFor(a, 'h', eventId), false, 'a disabled hook runs nothing');

    assert.equal(await b.hooks.enable('h'), true);
    await until(() => succeededFor(a, 'h', eventId));
    assert.equal(a.hooks.get('h')?.disabled, undefined);
  });

  it('unregistered through B, the hook is removed from A, and what A had queued for it is dead-lettered', async () => {
    const a = await start('a');
    const b = await start('b', { autoStart: false });
    await registerScripted(a, 'h');
    await a.hooks.disable('h');
    await a.state.set(Scope.agent('ada'), 'one', 1);
    await a.state.set(Scope.agent('ada'), 'two', 2);
    await until(() => a.hooks.get('h')?.pending === 2);
    await until(() => b.hooks.get('h') !== undefined);

    assert.equal(await b.hooks.unregister('h'), true);
    await until(() => a.hooks.get('h') === undefined);
    await until(async () => (await a.hooks.deadLetters({ hookName: 'h' })).length === 2);
    const letters = await b.hooks.deadLetters({ hookName: 'h' });
    assert.deepEqual(letters.map((letter) => letter.reason), ['unregistered', 'unregistered']);
    // A's commits stage nothing for it any more.
    await a.state.set(Scope.agent('ada'), 'three', 3);
    assert.equal((await a.hooks.deadLetters({ hookName: 'h' })).length, 2);
  });

  it('unregistered, the hook leaves nothing in the outbox: what another process staged, not yet read, is dead-lettered too', async () => {
    const a = await start('a');
    const b = await start('b', { autoStart: false });
    await registerScripted(a, 'h');
    await a.hooks.disable('h');
    await until(() => b.hooks.get('h')?.disabled !== undefined);
    // Staged by B's commit; A, which delivers the hook, may not have read it yet.
    await b.state.set(Scope.agent('ada'), 'k', 1);
    const [eventId] = await setEventIds(b, 'k');
    assert.equal(await b.hooks.unregister('h'), true);
    // A removes the hook as it hears of the unregistration, then sweeps its outbox: wait for both.
    await until(async () => a.hooks.get('h') === undefined && (await outboxKeys()).length === 0);
    const letters = await a.hooks.deadLetters({ hookName: 'h' });
    assert.deepEqual(letters.map((letter) => [letter.reason, letter.events.map((event) => (event as { id: string }).id)]), [['unregistered', [eventId]]]);
  });

  it('unregistered through B while A runs an execution of it, the execution is recorded as a success and not dead-lettered too', async () => {
    const { a, b, gate, eventId } = await runningInA('h');

    // B does not deliver the hook: it leaves the outbox to A, which sweeps it under its delivery lease.
    assert.equal(await b.hooks.unregister('h'), true);
    await until(() => a.hooks.get('h') === undefined);
    openGate(gate);
    await until(async () => (await outboxKeys()).length === 0);
    assert.equal(await succeededFor(a, 'h', eventId), true, 'the execution under way is recorded');
    assert.deepEqual(await a.hooks.deadLetters({ hookName: 'h' }), [], 'and nothing of it is dead-lettered');
    const [unregistered] = await b.events.query({ kinds: ['hook.unregistered'] });
    assert.deepEqual(unregistered.data, { hook: 'h', deadLettered: 0 });
  });

  it('unregistered while a process that has died still holds its delivery lease, its outbox is swept once that lease expires', async () => {
    const a = await start('a');
    await registerScripted(a, 'h');
    await a.hooks.disable('h');
    await a.state.set(Scope.agent('ada'), 'one', 1);
    await a.state.set(Scope.agent('ada'), 'two', 2);
    await until(async () => (await outboxKeys()).length === 2);
    // A dies holding the hook's delivery lease: its row is left, to expire in a second.
    await postgresQuery(`UPDATE "${shared.schema.schema}".leases SET owner = 'dead', epoch = epoch + 1, expires_at = now() + interval '1 second' WHERE resource = 'hook:h'`);
    await shared.close(a);

    const c = await start('c');
    assert.equal(await c.hooks.unregister('h'), true);
    const [unregistered] = await c.events.query({ kinds: ['hook.unregistered'] });
    assert.deepEqual(unregistered.data, { hook: 'h', deadLettered: 0 }, 'the lease was not free: nothing swept yet');
    await until(async () => (await outboxKeys()).length === 0);
    const letters = await c.hooks.deadLetters({ hookName: 'h' });
    assert.deepEqual(letters.map((letter) => letter.reason), ['unregistered', 'unregistered']);
  });

  it('unregistered while the process that delivers it closes with an execution of it running, its outbox is swept', async () => {
    // B leaves the sweep to A.
    const { a, b } = await runningInA('slow', { closeGraceMs: 200 });
    await b.hooks.unregister('slow');
    await until(() => a.hooks.get('slow') === undefined);
    // A closes while its execution still runs, and cuts it short: it sweeps as it closes, holding the
    // lease, or leaves the sweep to the next process that delivers hooks.
    await shared.close(a);
    await start('c');
    await until(async () => (await outboxKeys()).length === 0);
  });

  it('unregistered by a process that stops while a dead one still holds the delivery lease, its outbox is swept once that lease is free', async () => {
    const a = await start('a');
    await registerScripted(a, 'h');
    await a.hooks.disable('h');
    await a.state.set(Scope.agent('ada'), 'k', 1);
    await until(async () => (await outboxKeys()).length === 1);
    await postgresQuery(`UPDATE "${shared.schema.schema}".leases SET owner = 'dead', epoch = epoch + 1 WHERE resource = 'hook:h'`);
    assert.equal(await a.hooks.unregister('h'), true);
    await shared.close(a);
    await postgresQuery(`UPDATE "${shared.schema.schema}".leases SET expires_at = now() - interval '1 second' WHERE resource = 'hook:h'`);
    const c = await start('c');
    await until(async () => (await outboxKeys()).length === 0);
    const letters = await c.hooks.deadLetters({ hookName: 'h' });
    assert.deepEqual(letters.map((letter) => letter.reason), ['unregistered']);
  });

  it('registered again through B while A removes it, what the new registration staged is delivered, not dead-lettered', async () => {
    const { a, b, gate } = await runningInA('h');
    await b.hooks.unregister('h');
    // A's refresh removes it, waiting for its running execution under its delivery lease.
    await until(() => a.hooks.get('h') === undefined);
    await registerScripted(b, 'h', { gate }, { timeoutMs: 600_000 });
    await b.state.set(Scope.agent('bob'), 'after', 2);
    const [afterId] = await setEventIds(b, 'after');
    openGate(gate);
    await until(() => succeededFor(a, 'h', afterId));
    const letters = await a.hooks.deadLetters({ hookName: 'h' });
    assert.ok(!letters.some((letter) => letter.events.some((event) => (event as { id: string }).id === afterId)), 'dead-lettered too');
  });

  it('registered again elsewhere as a module hook, a cacheInvalidation hook parked here runs here', async () => {
    const a = await start('a');
    const b = await start('b');
    await b.hooks.register({ name: 'inv', builtin: 'cacheInvalidation', on: ['state.set'], keyspace: { invalidate: () => {} } });
    // A has no keyspace for it: parked, and leaving its delivery to B.
    await until(() => a.hooks.get('inv')?.detached === true);
    await registerScripted(b, 'inv');
    await until(() => a.hooks.get('inv')?.definition.builtin === undefined);
    assert.equal(a.hooks.get('inv')?.detached, false);
  });

  it('closes within its grace period while a refresh removes a hook whose execution runs', async () => {
    const { a, b } = await runningInA('slow', { closeGraceMs: 200 });
    await b.hooks.unregister('slow');
    // The execution waits on a gate this test never opens: close() ends only by cutting it short.
    await shared.close(a);
  });
});
