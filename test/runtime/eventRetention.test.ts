import assert from 'node:assert/strict';
import { Scope, type Runtime } from '../../src/index.js';
import { RuntimeFixture } from '../helpers.js';
import { OffsetClock, registerScripted } from '../hooks/hookHelpers.js';

describe('event log retention', () => {
  let fixture: RuntimeFixture;
  let rt: Runtime;
  let clock: OffsetClock;

  beforeEach(async () => {
    fixture = new RuntimeFixture('event-retention');
    clock = new OffsetClock();
    rt = await fixture.open({ clock });
  });
  afterEach(() => fixture.dispose());

  it('removes the oldest records by count and by age, with their index entries', async () => {
    const { correlationId } = await rt.correlate(() => rt.state.set(Scope.agent('a1'), 'k', 0));
    for (let i = 1; i < 10; i++) await rt.state.set(Scope.agent('a1'), 'k', i);
    const all = await rt.events.query({ kinds: ['state.set'] });
    assert.equal(all.length, 10);

    let result = await rt.events.prune({ maxCount: 6 });
    assert.equal(result.removedRecords, 4);
    const kept = await rt.events.query({ kinds: ['state.set'] });
    assert.deepEqual(kept.map((event) => event.value), [4, 5, 6, 7, 8, 9]);
    assert.deepEqual(await rt.events.query({ correlationId }), [], 'the correlation index entry went with its record');

    clock.offset += 60_000;
    await rt.state.set(Scope.agent('a1'), 'k', 10);
    result = await rt.events.prune({ maxAgeMs: 30_000 });
    assert.deepEqual((await rt.events.query({ kinds: ['state.set'] })).map((event) => event.value), [10]);
    assert.equal(await rt.state.get(Scope.agent('a1'), 'k'), 10, 'state is untouched');
  });

  it('keeps every record a pending hook delivery needs, and the deliveries still arrive', async () => {
    rt = await fixture.reopen(rt, { clock, hooks: { autoStart: false } });
    await registerScripted(rt, 'late');
    for (let i = 0; i < 5; i++) await rt.state.set(Scope.agent('a1'), `k${i}`, i);
    const result = await rt.events.prune({ maxCount: 1 });
    const left = await rt.events.query({ kinds: ['state.set'] });
    assert.equal(left.length, 5, `nothing a hook waits for was removed (${result.removedRecords} removed)`);
    rt = await fixture.reopen(rt, { clock });
    await rt.hooks.idle();
    assert.equal((await rt.hooks.history({ hookName: 'late', status: 'succeeded' })).flatMap((execution) => execution.eventIds).length, 5);
    await rt.events.prune({ maxCount: 1 });
    assert.equal((await rt.events.query({})).length <= 2, true);
  });

  it('applies eventRetention from createRuntime when the runtime opens', async () => {
    for (let i = 0; i < 8; i++) await rt.state.set(Scope.global(), 'k', i);
    rt = await fixture.reopen(rt, { clock, eventRetention: { maxCount: 3 } });
    assert.deepEqual((await rt.events.query({ kinds: ['state.set'] })).map((event) => event.value), [5, 6, 7]);
    await assert.rejects(rt.events.prune({ maxCount: -1 }), TypeError);
  });
});
