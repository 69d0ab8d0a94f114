import assert from 'node:assert/strict';
import { Scope, type Runtime } from '../../src/index.js';
import { storageOf } from '../../src/runtime.js';
import { join } from 'node:path';
import { rejection, RuntimeFixture, tempDir } from '../helpers.js';
import { ManualTimers } from '../ManualTimers.js';
import { driveHooks, openGate, registerScripted } from './hookHelpers.js';

async function outboxCount(rt: Runtime): Promise<number> {
  let count = 0;
  for await (const _ of storageOf(rt).iterate('outbox')) count++;
  return count;
}

describe('hooks: registry changes racing deliveries and each other', () => {
  let fixture: RuntimeFixture;
  let rt: Runtime;
  let gates: ReturnType<typeof tempDir>;

  beforeEach(async () => {
    fixture = new RuntimeFixture('hooks-races');
    gates = tempDir('hooks-races-gate');
    rt = await fixture.open({ hooks: { threads: 2 } });
  });
  afterEach(async () => {
    openGate(join(gates.dir, 'gate'));
    await fixture.dispose();
    gates.cleanup();
  });

  /** Reopens the runtime on manual timers, so that a test can wait for an execution to start (it sets its time limit). */
  async function onManualTimers(): Promise<ManualTimers> {
    const timers = new ManualTimers();
    rt = await fixture.reopen(rt, { clock: timers.clock, timers, hooks: { threads: 2 } });
    return timers;
  }

  it('unregister while a matching write commits dead-letters that write too', async () => {
    await registerScripted(rt, 'h');
    let reached!: () => void;
    const atGate = new Promise<void>((resolve) => (reached = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let armed = true;
    storageOf(rt).intercept({
      async beforeBatch(ops) {
        if (armed && ops.some((op) => op.sublevel === 'outbox' && op.type === 'put')) {
          armed = false;
          reached();
          await gate;
        }
      },
    });
    const write = rt.state.set(Scope.agent('a1'), 'k', 1);
    await atGate; // the write's batch, with its outbox entry, is committing
    const unregistered = rt.hooks.unregister('h');
    release();
    await write;
    assert.equal(await unregistered, true);
    assert.equal((await rt.hooks.deadLetters({ hookName: 'h' })).length, 1, 'the acknowledged change waits as a dead letter');
    assert.equal(await outboxCount(rt), 0, 'and not in the outbox of a hook that is gone');
    await registerScripted(rt, 'h');
    assert.equal(await rt.hooks.redeliver('h'), 1);
    await rt.hooks.idle();
    assert.equal((await rt.hooks.history({ hookName: 'h', status: 'succeeded' })).length, 1);
  });

  it('two redeliver calls at once put a dead letter back once', async () => {
    await registerScripted(rt, 'h', { fail: 'throw' }, { maxAttempts: 1 });
    await rt.state.set(Scope.agent('a1'), 'k', 1);
    await rt.hooks.idle();
    assert.equal((await rt.hooks.deadLetters({ hookName: 'h' })).length, 1);
    await registerScripted(rt, 'h', {}, { maxAttempts: 1 });
    assert.deepEqual((await Promise.all([rt.hooks.redeliver('h'), rt.hooks.redeliver('h')])).sort(), [0, 1]);
    await rt.hooks.idle();
    assert.equal((await rt.hooks.history({ hookName: 'h', status: 'succeeded' })).length, 1, 'exactly one success per change and hook');
  });

  it('a disable that lands while a re-registration loads its module stays', async () => {
    await registerScripted(rt, 'h');
    const again = registerScripted(rt, 'h', { v: 2 });
    assert.equal(await rt.hooks.disable('h'), true);
    await again;
    assert.notEqual(rt.hooks.get('h')!.disabled, undefined, 'disabled until enable()');
    rt = await fixture.reopen(rt, { hooks: { threads: 2 } });
    assert.notEqual(rt.hooks.get('h')!.disabled, undefined, 'and after a restart');
  });

  it('a registration made while an unregister waits for a running execution survives a restart', async () => {
    const timers = await onManualTimers();
    const gate = join(gates.dir, 'gate');
    await registerScripted(rt, 'h', { gate });
    await rt.state.set(Scope.agent('a1'), 'k', 1);
    while (rt.hooks.get('h')!.inFlight !== 1) await timers.nextSet();
    const unregistered = rt.hooks.unregister('h');
    const registered = registerScripted(rt, 'h', {});
    // The execution ends only now, after both calls were made.
    openGate(gate);
    await registered;
    await unregistered;
    assert.notEqual(rt.hooks.get('h'), undefined);
    rt = await fixture.reopen(rt, { hooks: { threads: 2 } });
    assert.notEqual(rt.hooks.get('h'), undefined, 'registered in storage too');
  });

  it('idle() waits for hooks fed by hook.dead_lettered and hook.circuit_opened', async () => {
    await registerScripted(rt, 'doomed', { fail: 'throw' }, { maxAttempts: 1, breaker: { failureThreshold: 1, windowMs: 60_000, cooldownMs: 60_000 } });
    await registerScripted(rt, 'watch', {}, { on: ['hook.dead_lettered', 'hook.circuit_opened'] });
    await rt.state.set(Scope.agent('a1'), 'k', 1);
    await rt.hooks.idle();
    const watched = await rt.hooks.history({ hookName: 'watch' });
    const kinds = watched.flatMap((execution) => (execution.input as { kind: string }[]).map((event) => event.kind)).sort();
    assert.deepEqual(kinds, ['hook.circuit_opened', 'hook.dead_lettered']);
  });

  it('enable() starts with a closed breaker', async () => {
    await registerScripted(rt, 'b', { fail: 'throw' }, { maxAttempts: 1, breaker: { failureThreshold: 1, windowMs: 60_000, cooldownMs: 600_000 } });
    await rt.state.set(Scope.agent('a1'), 'k', 1);
    await rt.hooks.idle();
    assert.equal(rt.hooks.get('b')!.breaker, 'open');
    await rt.hooks.disable('b');
    await rt.hooks.enable('b');
    assert.equal(rt.hooks.get('b')!.breaker, 'closed');
  });

  it('counts an overflow only when its batch commits', async () => {
    await registerScripted(rt, 'o', {}, { maxPending: 1 });
    await rt.hooks.disable('o');
    await rt.state.set(Scope.agent('a1'), 'k', 1);
    let armed = true;
    storageOf(rt).intercept({
      beforeBatch(ops) {
        if (armed && ops.some((op) => op.sublevel === 'hookDeadLetters')) {
          armed = false;
          throw new Error('injected');
        }
      },
    });
    assert.equal((await rejection(rt.state.set(Scope.agent('a1'), 'k', 2))).code, 'STORAGE_FAILED');
    assert.equal(rt.metrics().hooks.overflowed, 0);
    await rt.state.set(Scope.agent('a1'), 'k', 3);
    assert.equal(rt.metrics().hooks.overflowed, 1);
    assert.equal((await rt.hooks.deadLetters({ hookName: 'o' })).length, 1);
  });

  it('retries of batches that failed separately run their events oldest first', async () => {
    const timers = await onManualTimers();
    const gate = join(gates.dir, 'gate');
    await registerScripted(rt, 'c', { fail: 'throw', failAttempts: 1, gate }, { concurrency: 2, backoff: { initialMs: 200, maxMs: 200 } });
    await rt.state.set(Scope.agent('a1'), 'k', 1);
    while (rt.hooks.get('c')!.inFlight !== 1) await timers.nextSet();
    await rt.state.set(Scope.agent('a1'), 'k', 2);
    // Both first attempts run at once, and fail together once the gate opens.
    while (rt.hooks.get('c')!.inFlight !== 2) await timers.nextSet();
    openGate(gate);
    await driveHooks(rt, timers);
    const retries = (await rt.hooks.history({ hookName: 'c' })).filter((execution) => execution.attempt === 2);
    const seqs = retries.flatMap((execution) => execution.eventIds.map((id) => Number(id.split('.')[0])));
    assert.equal(seqs.length, 2);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
  });
});
