import assert from 'node:assert/strict';
import type { CircuitState } from '../../src/hooks/CircuitBreaker.js';
import { resolveHookDefinition, type HookRegistration } from '../../src/hooks/hookDefinition.js';
import { BUDGET_MIN_SAMPLES, HookSlot } from '../../src/hooks/HookSlot.js';
import { inlineEntry, type PendingEntry } from '../../src/hooks/pendingEntry.js';
import { ManualClock } from '../helpers.js';

/** An entry of `count` events committed at `seq`, carried inline as a dead letter would be. */
function entry(seq: number, count = 1): PendingEntry {
  const events = Array.from({ length: count }, (_, index) => JSON.stringify({ id: `${seq}.${index}`, seq, at: seq, kind: 'state.set', correlationId: `c${seq}` }));
  return inlineEntry(seq, seq, events, 0);
}

function setup(registration: Partial<HookRegistration> = {}) {
  const clock = new ManualClock();
  const transitions: [CircuitState, CircuitState][] = [];
  const definition = resolveHookDefinition({ name: 'h', builtin: 'metrics', on: ['state.set'], ...registration }, clock.now());
  const slot = new HookSlot(1, definition, clock, (from, to) => transitions.push([from, to]));
  return { clock, slot, transitions };
}

const seqs = (entries: readonly PendingEntry[]) => entries.map((e) => e.seq);

describe('HookSlot', () => {
  it('reserves room up to maxPending, and gives back what a failed commit reserved', () => {
    const { slot } = setup({ maxPending: 3 });
    assert.equal(slot.reserve(2), true);
    assert.equal(slot.reserve(2), false, 'a batch that would pass maxPending is refused whole');
    assert.equal(slot.pending, 2);
    slot.release(2);
    assert.equal(slot.reserve(3), true);
    assert.equal(slot.pending, 3);
  });

  it('counts overflowed events without reserving room for them', () => {
    const { slot } = setup();
    slot.overflowed(4);
    assert.equal(slot.counters.overflowed, 4);
    assert.equal(slot.pending, 0);
  });

  it('hands out copies of its counters', () => {
    const { slot } = setup();
    slot.counters.succeeded = 99;
    assert.equal(slot.counters.succeeded, 0);
  });

  it('begins an execution with whole entries up to batchSize, at least one, and counts it in flight until it ends', () => {
    const { slot, clock } = setup({ batchSize: 3, concurrency: 2 });
    for (const [seq, count] of [[1, 2], [2, 1], [3, 1], [4, 5]] as const) {
      slot.reserve(count);
      slot.enqueue(entry(seq, count));
    }
    assert.deepEqual(seqs(slot.begin().entries), [1, 2]);
    assert.equal(slot.inFlight, 1);
    assert.deepEqual(seqs(slot.begin().entries), [3]);
    assert.equal(slot.canStart(clock.now()), false, 'concurrency 2 is reached');
    slot.end();
    assert.deepEqual(seqs(slot.begin().entries), [4], 'an entry larger than batchSize is taken alone, never split');
    assert.equal(slot.waiting, false);
  });

  it('a retry waits for its time, keeps commit order, and takes only the entries that failed together', () => {
    const { slot, clock } = setup({ batchSize: 10 });
    for (const seq of [1, 2, 3]) slot.restore(entry(seq));
    const { entries } = slot.begin();
    slot.end();
    assert.deepEqual(seqs(entries), [1, 2, 3]);
    slot.restore(entry(4));
    slot.scheduleRetry(entries.slice(0, 2), clock.now() + 500, 1);
    slot.scheduleRetry(entries.slice(2), clock.now() + 500, 1);
    assert.equal(entries[0].attempts, 0, 'the entries taken are not changed: the slot queues copies');
    assert.equal(slot.canStart(clock.now()), false);
    assert.equal(slot.waitMs(clock.now()), 500);
    clock.advance(500);
    assert.equal(slot.canStart(clock.now()), true);
    const retry = slot.begin().entries;
    assert.deepEqual(seqs(retry), [1, 2, 3], 'entry 4 arrived since, with no attempts: it is not charged with theirs');
    assert.deepEqual(retry.map((e) => e.attempts), [1, 1, 1]);
  });

  it('a success leaves the outbox and is counted; a dead letter leaves it too', () => {
    const { slot } = setup();
    slot.restore(entry(1, 2));
    slot.restore(entry(2, 3));
    const first = slot.begin();
    slot.settle(first.ticket, 2, 12);
    slot.end();
    assert.equal(slot.pending, 3);
    assert.deepEqual(slot.latency(), { p50Ms: 12, p95Ms: 12 });
    slot.begin();
    slot.fail('failed', undefined);
    slot.deadLettered(3);
    slot.end();
    assert.equal(slot.pending, 0);
    assert.deepEqual(slot.counters, { succeeded: 1, failed: 1, timedOut: 0, deadLettered: 3, overflowed: 0, delivered: 2 });
  });

  it('a time-out counts at the time limit for the latency budget', () => {
    const { slot } = setup({ timeoutMs: 40, budgetMs: 30 });
    for (let i = 0; i < BUDGET_MIN_SAMPLES; i++) {
      slot.restore(entry(i + 1));
      const { ticket } = slot.begin();
      slot.fail('timed_out', ticket);
      slot.end();
    }
    assert.equal(slot.counters.timedOut, BUDGET_MIN_SAMPLES);
    assert.equal(slot.overBudget(), 40);
  });

  it('the breaker counts failures with a ticket, and not those that were not the hook\'s', () => {
    const { slot, transitions } = setup({ breaker: { failureThreshold: 1 } });
    slot.restore(entry(1));
    slot.restore(entry(2));
    slot.fail('failed', undefined);
    assert.equal(slot.breakerState, 'closed');
    slot.interrupt(slot.begin().ticket, [entry(1)]);
    assert.equal(slot.breakerState, 'open');
    assert.deepEqual(transitions, [['closed', 'open']]);
  });

  it('an outcome of an execution begun before enable() does not reach the fresh breaker', () => {
    const { slot } = setup({ breaker: { failureThreshold: 1 } });
    slot.restore(entry(1));
    const { ticket } = slot.begin();
    slot.disable({ reason: 'by hand', at: 1 });
    slot.enable();
    slot.fail('failed', ticket);
    assert.equal(slot.breakerState, 'closed');
  });

  it('disable parks the hook and enable runs it again, each returning the definition to store', () => {
    const { slot, clock } = setup();
    slot.restore(entry(1));
    const disabled = slot.disable({ reason: 'by hand', at: 5 });
    assert.deepEqual(disabled.disabled, { reason: 'by hand', at: 5 });
    assert.equal(slot.definition, disabled);
    assert.equal(slot.parked, true);
    assert.equal(slot.waiting, false, 'what waits for a parked hook is not waited for');
    assert.equal(slot.canStart(clock.now()), false);
    const enabled = slot.enable();
    assert.equal('disabled' in enabled, false);
    assert.equal(slot.canStart(clock.now()), true);
  });

  it('a detached built-in is parked until its sink is attached', () => {
    const { slot, clock } = setup();
    slot.restore(entry(1));
    slot.setDetached(true);
    assert.equal(slot.canStart(clock.now()), false);
    slot.setDetached(false);
    assert.equal(slot.canStart(clock.now()), true);
  });

  it('drain takes everything waiting', () => {
    const { slot } = setup();
    slot.restore(entry(1));
    slot.restore(entry(2));
    assert.deepEqual(seqs(slot.drain()), [1, 2]);
    assert.equal(slot.waiting, false);
  });
});
