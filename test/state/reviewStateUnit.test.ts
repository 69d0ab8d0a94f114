/**
 * Holes found by reviewing the state seam (`rt.state.commitUnit`, `entries`, `scopes`) as an attacker and
 * a careless integration would use it: what a plan claims must be what commits, a unit's events say only
 * what a unit may say, a bound schema binds a unit as it binds a set, and a build that calls back into its
 * own scope strands nothing.
 */
import assert from 'node:assert/strict';
import { z } from 'zod';
import { createRuntime, LlmStateError, Scope, type Runtime } from '../../src/index.js';
import type { LangGraphEventSpec } from '../../src/events/eventKinds.js';

const thread = Scope.custom('langgraph:thread:t1');

function writesEvent(): LangGraphEventSpec {
  return { kind: 'langgraph.writes', scope: thread.toString(), data: { threadId: 't1', checkpointNs: '', checkpointId: 'c', taskId: 'x', channels: [], stored: 0 } };
}

function withCode(code: string): (error: unknown) => boolean {
  return (error) => error instanceof LlmStateError && error.code === code;
}

/** Settles within `ms`, or fails the test instead of hanging it. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

describe('review: the state seam', () => {
  let rt: Runtime;
  beforeEach(async () => {
    rt = await createRuntime({ memory: true });
  });
  afterEach(async () => {
    await rt.close();
  });

  describe('a plan is read once: what the view checks is what commits', () => {
    beforeEach(async () => {
      await rt.state.set(thread, 'keep', 'precious');
      await rt.access.grant({ principal: 'agent:mallory', scope: thread, permissions: ['read', 'write'] });
    });

    it('a write whose value is a getter cannot delete through a view without delete', async () => {
      const mallory = rt.as('agent:mallory');
      let reads = 0;
      const sneaky = {
        key: 'keep',
        get value() {
          reads++;
          return reads === 1 ? 'looks like a set' : undefined;
        },
      };
      await mallory.state.commitUnit(thread, { build: () => ({ writes: [sneaky] }) }).catch(() => {});
      assert.notEqual(await rt.state.get(thread, 'keep'), undefined, 'a principal without delete deleted a key');
      assert.equal(reads, 1, 'the value was read more than once');
    });

    it('writes that are not an array cannot slip a delete past the view', async () => {
      const mallory = rt.as('agent:mallory');
      const fake = { map: (check: (write: { key: string; value: unknown }) => unknown) => [check({ key: 'keep', value: undefined })], some: () => false };
      await mallory.state.commitUnit(thread, { build: () => ({ writes: fake as never }) }).catch(() => {});
      assert.equal(await rt.state.get(thread, 'keep'), 'precious', 'a principal without delete deleted a key');
    });

    it('writes that are not an array cannot commit unchecked keys or JSON', async () => {
      const raw = { map: () => [{ key: '__reserved', json: '{not json' }] };
      await assert.rejects(rt.state.commitUnit(thread, { build: () => ({ writes: raw as never }) }), TypeError);
      assert.deepEqual(await rt.state.listKeys(thread), ['keep'], 'a key that breaks the key rules was stored');
    });

    it('a plan whose writes change between two reads commits the writes that were checked', async () => {
      let reads = 0;
      const plan = {
        get writes() {
          reads++;
          return reads === 1 ? [{ key: 'fine', value: 1 }] : [{ key: 'big', value: 'x'.repeat(2_000_000) }];
        },
      };
      await rt.state.commitUnit(thread, { build: () => plan }).catch(() => {});
      assert.equal(await rt.state.get(thread, 'big'), undefined, 'a value over maxValueBytes was stored');
    });
  });

  describe('the events of a unit', () => {
    it('cannot name an agent, so a unit cannot put events in another agent’s history', async () => {
      const forged = { ...writesEvent(), agentId: 'victim' } as unknown as LangGraphEventSpec;
      await rt.state.commitUnit(thread, { build: () => ({ events: [forged] }) });
      const logged = (await rt.events.query({ scope: thread.toString() })).filter((event) => event.kind === 'langgraph.writes');
      assert.equal(logged.length, 1);
      assert.equal(logged[0]!.agentId, undefined, 'the unit’s event claims to be about agent victim');
      const victims = await rt.events.query({ agentId: 'victim', kinds: ['langgraph.*'] });
      assert.deepEqual(victims, [], 'the forged event is indexed under agent victim');
    });

    it('keep the data that was checked, even when `data` is a getter', async () => {
      let reads = 0;
      const event = {
        kind: 'langgraph.thread_deleted',
        scope: thread.toString(),
        get data() {
          reads++;
          return reads === 1 ? { threadId: 't1', cleared: 0 } : { threadId: 't1', cleared: 0, blob: 'x'.repeat(100_000), nested: { n: 1n } };
        },
      } as unknown as LangGraphEventSpec;
      await rt.state.commitUnit(thread, { build: () => ({ events: [event] }) }).catch(() => {});
      const logged = (await rt.events.query({ scope: thread.toString() })).filter((e) => e.kind === 'langgraph.thread_deleted');
      for (const e of logged) assert.deepEqual((e as { data?: unknown }).data, { threadId: 't1', cleared: 0 });
    });
  });

  it('a value a bound schema refuses is refused in a unit too, as a set refuses it', async () => {
    await rt.schemas.register({ name: 'profile', version: '1.0.0', schema: z.object({ name: z.string() }) });
    await rt.schemas.bind('profile', { scopeKind: 'custom', keyPrefix: 'profile' });
    await assert.rejects(rt.state.set(thread, 'profile', { name: 42 }), withCode('SCHEMA_INVALID'));
    await assert.rejects(rt.state.commitUnit(thread, { build: () => ({ writes: [{ key: 'profile', value: { name: 42 } }] }) }), withCode('SCHEMA_INVALID'));
    assert.equal(await rt.state.get(thread, 'profile'), undefined);
  });

  describe('a build that calls back into its own scope', () => {
    it('strands no unit it commits from inside build', async () => {
      await rt.state.set(thread, 'n', 0);
      let inner: Promise<unknown> | undefined;
      const outer = rt.state.commitUnit(thread, {
        reads: ['n'],
        build: () => {
          inner = rt.state.commitUnit(thread, { reads: ['n'], build: () => ({ writes: [{ key: 'inner', value: 1 }], result: 'inner' }) });
          return { writes: [{ key: 'outer', value: 1 }], result: 'outer' };
        },
      });
      assert.equal(await within(outer, 2000, 'the outer unit'), 'outer');
      assert.equal(await within(inner!, 2000, 'the unit committed from inside build'), 'inner');
      assert.deepEqual(await rt.state.listKeys(thread), ['inner', 'n', 'outer']);
    });

    it('strands no clear or transaction queued from inside build', async () => {
      await rt.state.set(thread, 'n', 0);
      let clear: Promise<number> | undefined;
      const outer = rt.state.commitUnit(thread, {
        reads: ['n'],
        build: () => {
          clear = rt.state.clearScope(thread);
          return { writes: [{ key: 'outer', value: 1 }], result: 'outer' };
        },
      });
      assert.equal(await within(outer, 2000, 'the outer unit'), 'outer');
      assert.equal(await within(clear!, 2000, 'the clear queued from inside build'), 2);
      assert.deepEqual(await rt.state.listKeys(thread), []);
    });
  });

  it('scopes after a scope of a later kind are none: `after` is a position in key order', async () => {
    await rt.state.set(Scope.agent('a1'), 'k', 1);
    await rt.state.set(Scope.custom('c1'), 'k', 1);
    assert.ok('agent' < 'custom');
    const after = await rt.state.scopes({ kind: 'agent', after: Scope.custom('c1') });
    assert.deepEqual(after.map(String), [], 'every agent scope sorts before custom:c1');
    const afterEarlier = await rt.state.scopes({ kind: 'custom', after: Scope.agent('a1') });
    assert.deepEqual(afterEarlier.map(String), ['custom:c1']);
  });
});

describe('review: the state seam under pressure', () => {
  it('entries agrees with a model for every combination of bounds, prefix, reverse and limit', async () => {
    const rt = await createRuntime({ memory: true });
    try {
      const keys = ['a', 'a/b', 'a:1', 'a:10', 'a:2', 'ab', 'b', 'é', 'e\u0301x', 'z', '日本', '🦜'].map((key) => key.normalize('NFC'));
      for (const key of keys) await rt.state.set(thread, key, key);
      const sorted = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
      const probes = ['a', 'a:', 'a:1', 'ab', 'b', 'c', 'é', '🦜', '日'];
      let random = 7;
      const pick = <T>(items: readonly T[]): T => items[(random = (random * 48271) % 2147483647) % items.length]!;
      for (let run = 0; run < 400; run++) {
        const range: Record<string, unknown> = {};
        for (const bound of ['gt', 'gte', 'lt', 'lte', 'prefix'] as const) if (pick([true, false, false])) range[bound] = pick(probes);
        if (pick([true, false])) range.reverse = true;
        if (pick([true, false])) range.limit = pick([1, 2, 5, 100]);
        const inRange = (key: string) => {
          const at = (bound: string) => Buffer.compare(Buffer.from(key), Buffer.from(bound));
          return (
            (range.gt === undefined || at(range.gt as string) > 0) &&
            (range.gte === undefined || at(range.gte as string) >= 0) &&
            (range.lt === undefined || at(range.lt as string) < 0) &&
            (range.lte === undefined || at(range.lte as string) <= 0) &&
            (range.prefix === undefined || key.startsWith(range.prefix as string))
          );
        };
        let expected = sorted.filter(inRange);
        if (range.reverse) expected.reverse();
        if (range.limit !== undefined) expected = expected.slice(0, range.limit as number);
        const actual = (await rt.state.entries(thread, range)).map(([key]) => key);
        assert.deepEqual(actual, expected, JSON.stringify(range));
      }
    } finally {
      await rt.close();
    }
  });

  it('read-modify-write units lose no update while a tiny memory budget keeps dropping caches', async () => {
    const rt = await createRuntime({ memory: true, memoryBudgetBytes: 1024 });
    try {
      const scopes = Array.from({ length: 8 }, (_, i) => Scope.custom(`budget-${i}`));
      const units: Promise<unknown>[] = [];
      for (let round = 0; round < 40; round++) {
        for (const scope of scopes) {
          units.push(rt.state.set(scope, `pad-${round}`, 'x'.repeat(200)));
          units.push(
            rt.state.commitUnit(scope, {
              reads: ['count', `pad-${round}`],
              build: (current) => ({ writes: [{ key: 'count', value: ((current.get('count') as number | undefined) ?? 0) + 1 }] }),
            }),
          );
        }
      }
      await Promise.all(units);
      for (const scope of scopes) assert.equal(await rt.state.get(scope, 'count'), 40, scope.toString());
    } finally {
      await rt.close();
    }
  });

  it('close() settles every unit queued before it, and refuses those after', async () => {
    const rt = await createRuntime({ memory: true });
    const queued = Array.from({ length: 200 }, (_, i) =>
      rt.state.commitUnit(Scope.custom(`close-${i % 5}`), { reads: ['n'], build: (current) => ({ writes: [{ key: 'n', value: ((current.get('n') as number | undefined) ?? 0) + 1 }] }) }),
    );
    const closing = rt.close();
    const outcomes = await within(Promise.allSettled(queued), 5000, 'the queued units');
    await closing;
    for (const outcome of outcomes) if (outcome.status === 'rejected') assert.ok(outcome.reason instanceof LlmStateError, String(outcome.reason));
    await assert.rejects(rt.state.commitUnit(thread, { build: () => ({}) }), withCode('RUNTIME_CLOSED'));
  });
});
