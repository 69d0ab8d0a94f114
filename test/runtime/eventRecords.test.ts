import assert from 'node:assert/strict';
import { createRuntime, Scope, type Runtime } from '../../src/index.js';
import { readEvents, type LoggedEvent } from '../../src/events/eventLog.js';
import { storageOf } from '../../src/runtime.js';
import { rejection } from '../helpers.js';

async function allEvents(rt: Runtime): Promise<LoggedEvent[]> {
  const events: LoggedEvent[] = [];
  for await (const event of readEvents(storageOf(rt))) events.push(event);
  return events;
}

describe('event records', () => {
  let rt: Runtime;
  beforeEach(async () => {
    rt = await createRuntime({ memory: true });
  });
  afterEach(() => rt.close());
  const scope = Scope.agent('a1');

  it('every change writes one event of the matching kind, with the value that was set', async () => {
    await rt.state.set(scope, 'topic', { name: 'weather' });
    await rt.state.delete(scope, 'topic');
    await rt.state.set(scope, 'a', 1);
    await rt.state.set(scope, 'b', 2);
    await rt.state.clearScope(scope);
    const events = await allEvents(rt);
    assert.deepEqual(
      events.map((e) => [e.kind, e.scope, e.key, e.value, e.count]),
      [
        ['state.set', 'agent:a1', 'topic', { name: 'weather' }, undefined],
        ['state.delete', 'agent:a1', 'topic', undefined, undefined],
        ['state.set', 'agent:a1', 'a', 1, undefined],
        ['state.set', 'agent:a1', 'b', 2, undefined],
        ['scope.clear', 'agent:a1', undefined, undefined, 2],
      ],
    );
  });

  it('operations that change nothing write no event', async () => {
    assert.equal(await rt.state.delete(scope, 'missing'), false);
    assert.equal(await rt.state.clearScope(Scope.workflow('empty')), 0);
    await rt.state.transaction(scope, (tx) => tx.delete('missing'));
    assert.deepEqual(await allEvents(rt), []);
  });

  it('a rejected write leaves no event', async () => {
    const remove = storageOf(rt).intercept({
      beforeBatch() {
        throw new Error('injected');
      },
    });
    assert.equal((await rejection(rt.state.set(scope, 'k', 1))).code, 'STORAGE_FAILED');
    remove();
    assert.deepEqual(await allEvents(rt), []);
  });

  it('a write outside any context is its own root: its correlation id is its event id', async () => {
    await rt.state.set(scope, 'k', 1);
    await rt.state.set(scope, 'k', 2);
    const [first, second] = await allEvents(rt);
    assert.equal(first.correlationId, first.id);
    assert.equal(second.correlationId, second.id);
    assert.notEqual(first.id, second.id);
  });

  it('writes inside rt.correlate carry its correlation id across awaits, and are indexed by it', async () => {
    const { correlationId, result } = await rt.correlate(async () => {
      await rt.state.set(scope, 'a', 1);
      // A macrotask boundary, as a timer would be, without waiting for time.
      await new Promise((resolve) => setImmediate(resolve));
      await rt.state.transaction(Scope.workflow('w1'), (tx) => {
        tx.set('x', 1);
        tx.set('y', 2);
      });
      return 'done';
    });
    await rt.state.set(scope, 'outside', true);
    assert.equal(result, 'done');
    const events = await allEvents(rt);
    const inside = events.filter((e) => e.correlationId === correlationId);
    assert.deepEqual(inside.map((e) => `${e.scope} ${e.key}`), ['agent:a1 a', 'workflow:w1 x', 'workflow:w1 y']);
    assert.deepEqual(await rt.events.query({ correlationId }), inside);
    assert.notEqual(events.at(-1)!.correlationId, correlationId);
  });

  it('an explicit correlationId option wins over the ambient context', async () => {
    await rt.correlate(() => rt.state.set(scope, 'k', 1, { correlationId: 'req-42' }), 'outer');
    const [event] = await allEvents(rt);
    assert.equal(event.correlationId, 'req-42');
  });

  it('rt.correlate uses a given id, and rejects an invalid one with a TypeError', async () => {
    const { correlationId } = await rt.correlate(() => rt.state.set(scope, 'k', 1), 'my-id');
    assert.equal(correlationId, 'my-id');
    await assert.rejects(rt.correlate(() => 1, ''), TypeError);
    await assert.rejects(rt.correlate(() => 1, 'bad\nid'), TypeError);
    await assert.rejects(rt.state.set(scope, 'k', 1, { correlationId: 'x'.repeat(129) }), TypeError);
  });

  it('the commit sequence advances once per batch, in order', async () => {
    await Promise.all(Array.from({ length: 50 }, (_, i) => rt.state.set(Scope.agent(`a${i}`), 'k', i)));
    const events = await allEvents(rt);
    const seqs = [...new Set(events.map((e) => e.seq))];
    assert.equal(seqs.length, rt.metrics().commits.batches);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
    assert.equal(rt.metrics().commits.seq, seqs.at(-1));
  });

  describe('rt.events.query', () => {
    it('filters by kind, with * wildcards, and by scope', async () => {
      await rt.state.set(scope, 'a', 1);
      await rt.state.set(Scope.workflow('w1'), 'b', 2);
      await rt.state.delete(scope, 'a');
      await rt.state.clearScope(Scope.workflow('w1'));
      assert.deepEqual((await rt.events.query({ kinds: ['state.*'] })).map((e) => e.kind), ['state.set', 'state.set', 'state.delete']);
      assert.deepEqual((await rt.events.query({ kinds: ['scope.clear'] })).map((e) => e.scope), ['workflow:w1']);
      assert.deepEqual((await rt.events.query({ scope: 'agent:a1' })).map((e) => e.kind), ['state.set', 'state.delete']);
      assert.deepEqual((await rt.events.query({ agentId: 'a1' })).map((e) => e.kind), ['state.set', 'state.delete']);
    });

    it('finds a write made outside any context by its own id, which is its correlation id', async () => {
      await rt.state.set(scope, 'a', 1);
      await rt.state.set(scope, 'b', 2);
      const [, second] = await rt.events.query();
      assert.deepEqual(await rt.events.query({ correlationId: second.correlationId }), [second]);
    });

    it('honours limit and time bounds, oldest first', async () => {
      for (let i = 0; i < 5; i++) await rt.state.set(scope, `k${i}`, i);
      const all = await rt.events.query();
      assert.deepEqual((await rt.events.query({ limit: 2 })).map((e) => e.key), ['k0', 'k1']);
      assert.equal((await rt.events.query({ from: all[0].at, to: new Date(all[4].at) })).length, 5);
      assert.deepEqual(await rt.events.query({ from: all[4].at + 1 }), []);
    });

    it('refuses a `kinds` pattern that matches no event kind with EVENT_KIND_UNKNOWN, naming the closest kind', async () => {
      await rt.state.set(scope, 'a', 1);
      const error = await rejection(rt.events.query({ kinds: ['state.set', 'agent.crash'] }));
      assert.equal(error.code, 'EVENT_KIND_UNKNOWN');
      assert.equal(error.message, 'The event-kind pattern `agent.crash` in `kinds` matches no event kind; did you mean `agent.crashed`?');
      assert.deepEqual(error.details, { rule: 'unknown_event_kind', pattern: 'agent.crash', suggestion: 'agent.crashed' });
    });

    it('refuses a `kinds` wildcard that matches no event kind, and takes one that matches some', async () => {
      await rt.state.set(scope, 'a', 1);
      const error = await rejection(rt.events.query({ kinds: ['stat.*'] }));
      assert.equal(error.code, 'EVENT_KIND_UNKNOWN');
      assert.match(error.message, /did you mean `state\.\*`\?$/);
      assert.deepEqual((await rt.events.query({ kinds: ['sta*', '*.set'] })).map((e) => e.kind), ['state.set']);
    });

    it('rejects a malformed filter with a TypeError', async () => {
      await assert.rejects(rt.events.query({ kinds: 'state.set' as unknown as string[] }), TypeError);
      await assert.rejects(rt.events.query({ limit: 0 }), TypeError);
      await assert.rejects(rt.events.query({ from: 'yesterday' as unknown as number }), TypeError);
    });
  });
});
