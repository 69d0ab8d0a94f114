import assert from 'node:assert/strict';
import { LlmStateError, Scope, type Runtime } from '../../src/index.js';
import { storageOf } from '../../src/runtime.js';
import { readSeqHighWater } from '../../src/events/seqHighWater.js';
import { encodeRecord } from '../../src/storage/recordEnvelope.js';
import { chatMachine } from '../fixtures/chatMachine.js';
import { rejection, RuntimeFixture } from '../helpers.js';
import { OffsetClock, registerScripted } from '../hooks/hookHelpers.js';

/** The highest commit sequence among the events still in the log. */
async function lastLoggedSeq(rt: Runtime): Promise<number> {
  return Math.max(0, ...(await rt.events.query({})).map((event) => event.seq));
}

describe('the commit sequence across retention and reopening', function () {
  this.timeout(20_000);
  let fixture: RuntimeFixture;

  beforeEach(() => {
    fixture = new RuntimeFixture('seq-high-water');
  });
  afterEach(() => fixture.dispose());

  it('goes on above every sequence ever used after pruning the whole log and reopening', async () => {
    let rt = await fixture.open();
    for (let i = 0; i < 5; i++) await rt.state.set(Scope.agent('a1'), 'k', i);
    const highest = await lastLoggedSeq(rt);
    const usedIds = new Set((await rt.events.query({})).map((event) => event.id));
    const result = await rt.events.prune({ maxCount: 0 });
    assert.equal(result.oldestSeq, undefined, 'the log is empty');
    assert.equal(await readSeqHighWater(storageOf(rt)), highest, 'the prune recorded the highest sequence it removed');

    rt = await fixture.reopen(rt);
    await rt.state.set(Scope.agent('a1'), 'k', 'after');
    const [event] = await rt.events.query({ kinds: ['state.set'] });
    assert.ok(event.seq > highest, `the first write after reopening has sequence ${event.seq}, above ${highest}`);
    assert.equal(usedIds.has(event.id), false, `event id ${event.id} was not used before`);
  });

  it('goes on above every sequence ever used when eventRetention empties the log at each open', async () => {
    const clock = new OffsetClock();
    let rt = await fixture.open({ clock });
    for (let i = 0; i < 4; i++) await rt.state.set(Scope.global(), 'k', i);
    let highest = await lastLoggedSeq(rt);
    for (let round = 0; round < 3; round++) {
      clock.offset += 60_000;
      // The first open prunes what the last round wrote; the second finds the log already empty.
      rt = await fixture.reopen(rt, { clock, eventRetention: { maxAgeMs: 1000 } });
      rt = await fixture.reopen(rt, { clock, eventRetention: { maxAgeMs: 1000 } });
      assert.deepEqual(await rt.events.query({ kinds: ['state.set'] }), [], 'retention at open emptied the log');
      await rt.state.set(Scope.global(), 'k', `round ${round}`);
      const seq = await lastLoggedSeq(rt);
      assert.ok(seq > highest, `round ${round}: sequence ${seq} is above ${highest}`);
      highest = seq;
    }
  });

  it('never reuses a sequence that keys a hook dead letter, so no dead letter is overwritten', async () => {
    let rt = await fixture.open();
    await registerScripted(rt, 'doomed', { fail: 'throw', message: 'always fails' }, { maxAttempts: 1 });
    await rt.state.set(Scope.agent('a1'), 'k', 'first');
    // One attempt: the hooks are idle once the batch is dead-lettered.
    await rt.hooks.idle();
    assert.equal((await rt.hooks.deadLetters({ hookName: 'doomed' })).length, 1, 'the first batch is dead-lettered');
    const [first] = await rt.hooks.deadLetters({ hookName: 'doomed' });
    await rt.events.prune({ maxCount: 0 });
    assert.equal(await lastLoggedSeq(rt), 0, 'the log is empty');

    rt = await fixture.reopen(rt);
    await rt.state.set(Scope.agent('a1'), 'k', 'second');
    await rt.hooks.idle();
    assert.equal((await rt.hooks.deadLetters({ hookName: 'doomed' })).length, 2, 'the second batch is dead-lettered beside the first');
    const letters = await rt.hooks.deadLetters({ hookName: 'doomed' });
    assert.deepEqual(letters[0], first, 'the first dead letter is intact');
    assert.ok(letters[1].seq > first.seq);
    assert.deepEqual(letters.map((letter) => (letter.events[0] as { value?: unknown }).value), ['first', 'second']);
  });

  it('keeps agent dead letters and the ids of their events apart across prune and reopen', async () => {
    const machine = chatMachine({ onThrow: () => undefined });
    let rt = await fixture.open();
    let agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine });
    await rejection(agent.send({ type: 'THROW', text: 'one' }));
    const [firstCrash] = await rt.events.query({ agentId: 'a1', kinds: ['agent.crashed'] });
    // Closing saves the agent (an event): prune in a runtime that writes nothing before it closes.
    rt = await fixture.reopen(rt);
    await rt.events.prune({ maxCount: 0 });
    rt = await fixture.reopen(rt);
    agent = await rt.agents.restore('a1', { machine });
    await rejection(agent.send({ type: 'THROW', text: 'two' }));
    const crashes = await rt.events.query({ agentId: 'a1', kinds: ['agent.crashed'] });
    assert.equal(crashes.length, 1, 'only the new crash is in the log');
    assert.ok(crashes[0].seq > firstCrash.seq, `the new crash has sequence ${crashes[0].seq}, above ${firstCrash.seq}`);
    assert.notEqual(crashes[0].id, firstCrash.id);
    assert.deepEqual((await rt.supervisors.deadLetters({ agentId: 'a1' })).map((letter) => letter.event.text), ['one', 'two']);
  });

  it('fails to open with DATA_CORRUPT when the high-water mark is damaged', async () => {
    const rt = await fixture.open();
    await rt.state.set(Scope.global(), 'k', 1);
    await rt.events.prune({ maxCount: 0 });
    const storage = storageOf(rt);
    const mark = await storage.get('meta', Buffer.from('seqHighWater', 'utf8'));
    assert.ok(mark !== undefined);
    mark[mark.length - 1] ^= 1;
    await storage.batch([{ type: 'put', sublevel: 'meta', key: Buffer.from('seqHighWater', 'utf8'), value: mark }]);
    await rt.close();
    const error = await rejection(fixture.open());
    assert.ok(error instanceof LlmStateError);
    assert.equal(error.code, 'DATA_CORRUPT');
    assert.match(error.message, /seqHighWater|high-water/);
  });

  for (const payload of ['null', 'not json', '{}', '{"seq":-1}', '{"seq":1.5}']) {
    it(`fails to open with DATA_CORRUPT when the high-water mark holds ${payload}`, async () => {
      const rt = await fixture.open();
      await storageOf(rt).batch([{ type: 'put', sublevel: 'meta', key: Buffer.from('seqHighWater', 'utf8'), value: encodeRecord({ seq: 0, timestamp: 0 }, payload) }]);
      await rt.close();
      const error = await rejection(fixture.open());
      assert.equal(error.code, 'DATA_CORRUPT');
      assert.match(error.message, /high-water/);
    });
  }
});
