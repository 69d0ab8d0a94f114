import assert from 'node:assert/strict';
import { Scope, type Runtime } from '../../src/index.js';
import { storageOf } from '../../src/runtime.js';
import { MAX_HOOK_HOPS } from '../../src/hooks/hookActions.js';
import { RuntimeFixture } from '../helpers.js';
import { ManualTimers } from '../ManualTimers.js';
import { driveHooks, registerScripted } from './hookHelpers.js';

describe('hooks: protection', () => {
  let fixture: RuntimeFixture;
  let rt: Runtime;
  let timers: ManualTimers;
  const options = () => ({ clock: timers.clock, timers, hooks: { threads: 2 } });

  beforeEach(async () => {
    fixture = new RuntimeFixture('hooks-protection');
    timers = new ManualTimers();
    rt = await fixture.open(options());
  });
  afterEach(() => fixture.dispose());

  for (const fail of ['exit', 'uncaught', 'throw'] as const) {
    it(`retries after a worker failure (${fail}) mid-hook, and records both attempts`, async () => {
      await registerScripted(rt, 'fragile', { fail, failAttempts: 1 });
      await rt.state.set(Scope.agent('a1'), 'k', 1);
      await driveHooks(rt, timers);
      const history = await rt.hooks.history({ hookName: 'fragile' });
      assert.deepEqual(history.map((execution) => [execution.attempt, execution.status, execution.error?.code]), [
        [1, 'failed', 'HOOK_FAILED'],
        [2, 'succeeded', undefined],
      ]);
      assert.deepEqual(history[0].eventIds, history[1].eventIds);
      if (fail === 'exit') assert.match(history[0].error!.message, /died/);
      const metrics = rt.metrics().hooks;
      assert.deepEqual([metrics.failed, metrics.succeeded, metrics.pending], [1, 1, 0]);
      // The pool replaced the worker: later executions still run.
      await rt.state.set(Scope.agent('a1'), 'k', 2);
      await driveHooks(rt, timers);
      assert.equal(rt.metrics().hooks.succeeded, 2);
    });
  }

  it('stops an execution at its time limit, replaces the worker and retries', async () => {
    await registerScripted(rt, 'hangs', { fail: 'hang', failAttempts: 1 }, { timeoutMs: 200 });
    await rt.state.set(Scope.agent('a1'), 'k', 1);
    // The limit is set again, to 200 ms, once the hook has started; then only time can end it.
    while ((await timers.nextSet()) !== 200);
    await timers.advance(200);
    await driveHooks(rt, timers);
    const history = await rt.hooks.history({ hookName: 'hangs' });
    assert.deepEqual(history.map((execution) => [execution.status, execution.error?.code, execution.durationMs]).slice(0, 1), [['timed_out', 'HOOK_TIMEOUT', 200]]);
    assert.equal(history[1].status, 'succeeded');
    assert.equal(rt.metrics().hooks.timedOut, 1);
  });

  it('dead-letters a batch once maxAttempts are spent, with the last error, and logs it', async () => {
    await registerScripted(rt, 'doomed', { fail: 'throw' }, { maxAttempts: 3 });
    const { correlationId } = await rt.correlate(() => rt.state.set(Scope.agent('a1'), 'k', 1));
    await driveHooks(rt, timers);
    const history = await rt.hooks.history({ hookName: 'doomed' });
    assert.deepEqual(history.map((execution) => execution.attempt), [1, 2, 3]);
    const [letter] = await rt.hooks.deadLetters({ hookName: 'doomed' });
    assert.equal(letter.reason, 'attempts_exhausted');
    assert.equal(letter.attempts, 3);
    assert.equal(letter.error?.code, 'HOOK_FAILED');
    assert.deepEqual(letter.eventIds, history[0].eventIds);
    assert.equal(rt.metrics().hooks.deadLettered, 1);
    const logged = await rt.events.query({ kinds: ['hook.dead_lettered'] });
    assert.equal(logged.length, 1);
    assert.equal(logged[0].correlationId, correlationId, 'the dead letter is on the story of its write');
  });

  it('keeps the attempt count across a restart, so maxAttempts holds', async () => {
    await registerScripted(rt, 'stubborn', { fail: 'throw' }, { maxAttempts: 4, backoff: { initialMs: 60_000, maxMs: 60_000 } });
    await rt.state.set(Scope.agent('a1'), 'k', 1);
    await driveHooks(rt, timers, async () => (await rt.hooks.history({ hookName: 'stubborn' })).length === 1, 'the first attempt to be recorded');
    rt = await fixture.reopen(rt, options());
    await registerScripted(rt, 'stubborn', { fail: 'throw' }, { maxAttempts: 4 });
    await driveHooks(rt, timers);
    assert.deepEqual((await rt.hooks.history({ hookName: 'stubborn' })).map((execution) => execution.attempt), [1, 2, 3, 4]);
  });

  it('fails an execution whose actions are invalid, applying none of them', async () => {
    await registerScripted(rt, 'bad-actions', { badAction: true, follow: { from: 'k', to: 'copy' } }, { maxAttempts: 2 });
    await rt.state.set(Scope.agent('a1'), 'k', 1);
    await driveHooks(rt, timers);
    const history = await rt.hooks.history({ hookName: 'bad-actions' });
    assert.deepEqual(history.map((execution) => execution.error?.code), ['SCOPE_INVALID', 'SCOPE_INVALID']);
    assert.match(history[0].error!.message, /Hook action 1 is invalid/);
    assert.equal(await rt.state.get(Scope.agent('a1'), 'copy'), undefined);
  });

  it('stops a hook that triggers itself after MAX_HOOK_HOPS actions, and dead-letters the loop', async () => {
    await rt.hooks.register({ name: 'loops', module: new URL('../fixtures/hooks/loops.mjs', import.meta.url), on: ['state.set'], maxAttempts: 2, backoff: { initialMs: 1, maxMs: 2 } });
    const { correlationId } = await rt.correlate(() => rt.state.set(Scope.agent('a1'), 'n', 0));
    await driveHooks(rt, timers);
    assert.equal(await rt.state.get(Scope.agent('a1'), 'n'), MAX_HOOK_HOPS);
    const writes = await rt.events.query({ correlationId, kinds: ['state.set'] });
    assert.deepEqual(writes.map((event) => event.hop ?? 0), Array.from({ length: MAX_HOOK_HOPS + 1 }, (_, hop) => hop));
    const [letter] = await rt.hooks.deadLetters({ hookName: 'loops' });
    assert.equal(letter.error?.code, 'HOOK_FAILED');
    assert.match(letter.error!.message, /hop 17 of a chain/);
  });

  it('opens the breaker after repeated failures, holds executions while open, then half-opens and closes', async () => {
    await registerScripted(rt, 'flaky', { fail: 'throw' }, { maxAttempts: 100, breaker: { failureThreshold: 3, windowMs: 60_000, cooldownMs: 30_000 } });
    await rt.state.set(Scope.agent('a1'), 'k', 1);
    await driveHooks(rt, timers, () => rt.hooks.get('flaky')!.breaker === 'open', 'the breaker to open');
    const failures = rt.metrics().hooks.failed;
    assert.equal(failures, 3);
    // All of the cooldown but its last millisecond.
    await timers.advance(29_999);
    assert.equal(rt.metrics().hooks.failed, 3, 'nothing runs while the breaker is open');
    assert.equal(rt.metrics().hooks.pending, 1, 'the execution waits in the outbox');

    // The hook is fixed; the breaker keeps its state across the re-registration.
    await registerScripted(rt, 'flaky', {}, { maxAttempts: 100, breaker: { failureThreshold: 3, windowMs: 60_000, cooldownMs: 30_000 } });
    assert.equal(rt.hooks.get('flaky')!.breaker, 'open');
    await timers.advance(1);
    await driveHooks(rt, timers);
    assert.equal(rt.hooks.get('flaky')!.breaker, 'closed');
    assert.equal(rt.metrics().hooks.succeeded, 1);
    await driveHooks(rt, timers, async () => (await rt.events.query({ kinds: ['hook.circuit_*'] })).length === 3, 'the transitions to be logged');
    const transitions = await rt.events.query({ kinds: ['hook.circuit_*'] });
    assert.deepEqual(transitions.map((event) => event.kind), ['hook.circuit_opened', 'hook.circuit_half_open', 'hook.circuit_closed']);
  });

  it('reopens a half-open breaker when the probe fails', async () => {
    await registerScripted(rt, 'still-broken', { fail: 'throw' }, { maxAttempts: 100, breaker: { failureThreshold: 2, windowMs: 60_000, cooldownMs: 10_000 } });
    await rt.state.set(Scope.agent('a1'), 'k', 1);
    await driveHooks(rt, timers, () => rt.hooks.get('still-broken')!.breaker === 'open', 'the breaker to open');
    await timers.advance(10_000);
    await driveHooks(rt, timers, () => rt.metrics().hooks.failed === 3, 'the probe to run');
    assert.equal(rt.hooks.get('still-broken')!.breaker, 'open');
  });

  it('disables a hook whose p95 is over its budget; its executions wait, and run once enabled', async () => {
    await registerScripted(rt, 'slowish', { sleepMs: 15 }, { budgetMs: 5, batchSize: 1 });
    for (let i = 0; i < 30; i++) await rt.state.set(Scope.agent('a1'), `k${i}`, i);
    await driveHooks(rt, timers);
    const info = rt.hooks.get('slowish')!;
    assert.ok(info.disabled !== undefined, 'disabled');
    assert.match(info.disabled.reason, /over the 5 ms budget/);
    assert.equal(info.counters.succeeded, 20, 'judged after 20 samples');
    assert.equal(info.pending, 10);
    const [event] = await rt.events.query({ kinds: ['hook.disabled'] });
    assert.deepEqual((event.data as { hook: string; reason: string }).reason, 'latency');

    rt = await fixture.reopen(rt, options());
    assert.ok(rt.hooks.get('slowish')!.disabled, 'stays disabled after a restart');
    await registerScripted(rt, 'slowish', {}, { budgetMs: 5, batchSize: 1 });
    assert.ok(rt.hooks.get('slowish')!.disabled, 're-registering does not enable it');
    assert.equal(await rt.hooks.enable('slowish'), true);
    await driveHooks(rt, timers);
    assert.equal(rt.hooks.get('slowish')!.pending, 0);
    assert.equal(rt.hooks.get('slowish')!.disabled, undefined);
  });

  it('a refresh from the store while a latency disable is being written leaves the hook disabled, as the store has it', async () => {
    await registerScripted(rt, 'slowish', { sleepMs: 15 }, { budgetMs: 5, batchSize: 1 });
    // Hold the batch that records the disable, and note when the refresh reads the registration.
    let resume!: () => void;
    const held = new Promise<void>((resolve) => (resume = resolve));
    let reachedDisable!: () => void;
    const disableReached = new Promise<void>((resolve) => (reachedDisable = resolve));
    let readRegistration!: () => void;
    const registrationRead = new Promise<void>((resolve) => (readRegistration = resolve));
    const stop = storageOf(rt).intercept({
      beforeBatch: async (ops) => {
        if (!ops.some((op) => op.sublevel === 'hooks' && op.type === 'put')) return;
        reachedDisable();
        await held;
      },
      beforeGet: (sublevel) => {
        if (sublevel === 'hooks') readRegistration();
      },
    });
    try {
      for (let i = 0; i < 30; i++) await rt.state.set(Scope.agent('a1'), `k${i}`, i);
      const driving = driveHooks(rt, timers);
      await disableReached;
      assert.ok(rt.hooks.get('slowish')!.disabled, 'disabled here, before the store has it');
      // What another process's change to the hook would start (Hooks.refresh is internal).
      const refreshing = (rt.hooks as unknown as { refresh(names: readonly string[]): Promise<void> }).refresh(['slowish']);
      // The refresh reads the store at once, or (as it should) waits for the disable to be written.
      await Promise.race([registrationRead, eventLoopTurns(20)]);
      resume();
      await refreshing;
      await driving;
    } finally {
      resume();
      stop();
    }
    assert.match(rt.hooks.get('slowish')!.disabled?.reason ?? 'enabled', /over the 5 ms budget/);
    assert.equal(rt.hooks.get('slowish')!.pending, 10, 'its executions wait');
    rt = await fixture.reopen(rt, options());
    assert.ok(rt.hooks.get('slowish')!.disabled, 'the store has it disabled too');
  });

  it('registering a hook again while its latency disable begins leaves it disabled, with the new registration, here and in the store', async () => {
    await registerScripted(rt, 'slowish', { sleepMs: 15 }, { budgetMs: 5, batchSize: 1 });
    for (let i = 0; i < 30; i++) await rt.state.set(Scope.agent('a1'), `k${i}`, i);
    // Hold the batch that writes the new registration until the disable has begun here.
    let resume!: () => void;
    const held = new Promise<void>((resolve) => (resume = resolve));
    let reachedRegistration!: () => void;
    const registrationReached = new Promise<void>((resolve) => (reachedRegistration = resolve));
    let holding = true;
    const stop = storageOf(rt).intercept({
      beforeBatch: async (ops) => {
        if (!holding || !ops.some((op) => op.sublevel === 'hooks' && op.type === 'put')) return;
        holding = false;
        reachedRegistration();
        await held;
      },
    });
    let registering: Promise<unknown> | undefined;
    try {
      registering = registerScripted(rt, 'slowish', { sleepMs: 15 }, { budgetMs: 5, batchSize: 1, priority: 7 });
      await registrationReached;
      // The disable changes memory, then waits to write behind the held registration, so the hooks never
      // idle: step them until it has begun.
      const disabled = () => rt.hooks.get('slowish')!.disabled !== undefined;
      for (let step = 0; step < 10_000 && !disabled(); step++) {
        if (rt.metrics().hooks.inFlight === 0 && timers.pending > 0) await timers.advance(timers.delays()[0]);
        else await new Promise((resolve) => setTimeout(resolve, 2));
      }
      assert.ok(disabled(), 'disabled here while the registration is being written');
      resume();
      await registering;
      await driveHooks(rt, timers);
    } finally {
      resume();
      stop();
      await registering?.catch(() => undefined);
    }
    const here = rt.hooks.get('slowish')!;
    assert.match(here.disabled?.reason ?? 'enabled', /over the 5 ms budget/);
    assert.equal(here.definition.priority, 7, 'the new registration');
    assert.equal(here.pending, 10, 'its executions wait');
    rt = await fixture.reopen(rt, options());
    const stored = rt.hooks.get('slowish')!;
    assert.ok(stored.disabled, 'the store has it disabled too');
    assert.equal(stored.definition.priority, 7, 'the store has the new registration');
  });

  it('bounds each hook outbox: overflow is dead-lettered and counted, never dropped', async () => {
    await registerScripted(rt, 'bounded', {}, { maxPending: 3 });
    await rt.hooks.disable('bounded');
    for (let i = 0; i < 5; i++) await rt.state.set(Scope.agent('a1'), `k${i}`, i);
    const metrics = rt.metrics().hooks;
    assert.equal(metrics.pending, 3);
    assert.equal(metrics.overflowed, 2);
    const letters = await rt.hooks.deadLetters({ hookName: 'bounded' });
    assert.deepEqual(letters.map((letter) => [letter.reason, (letter.events[0] as { key: string }).key]), [['overflow', 'k3'], ['overflow', 'k4']]);
    await rt.hooks.enable('bounded');
    await driveHooks(rt, timers);
    assert.equal(await rt.hooks.redeliver('bounded'), 2);
    await driveHooks(rt, timers);
    const delivered = (await rt.hooks.history({ hookName: 'bounded', status: 'succeeded' })).flatMap((execution) => execution.eventIds);
    assert.equal(new Set(delivered).size, 5);
  });
});

async function eventLoopTurns(count: number): Promise<void> {
  for (let turn = 0; turn < count; turn++) await new Promise((resolve) => setImmediate(resolve));
}
