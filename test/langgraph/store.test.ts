import assert from 'node:assert/strict';
import { createRuntime, type Runtime } from '../../src/index.js';
import { LlmStateStore, namespaceScope } from '../../src/langgraph/index.js';
import { ManualClock, RuntimeFixture } from '../helpers.js';
import { openStore } from './storeFixture.js';

const MINUTE = 60_000;

describe('LlmStateStore', () => {
  let rt: Runtime;
  let store: LlmStateStore;
  let clock: ManualClock;

  beforeEach(async () => {
    clock = new ManualClock();
    ({ store, rt } = await openStore({ clock }));
  });
  afterEach(() => rt.close());

  describe('options', () => {
    it('refuses what is not a runtime', () => {
      assert.throws(() => new LlmStateStore({} as Runtime), { name: 'TypeError', message: /Expected `rt` to be a Runtime or a view of one/ });
    });

    it('checks each option, naming it', () => {
      assert.throws(() => new LlmStateStore(rt, { clock: 3 as never }), { message: 'Expected `clock` to be an object with a now() method, got `3` (number)' });
      assert.throws(() => new LlmStateStore(rt, { ttl: { defaultTtl: 0 } }), { message: 'Expected `ttl.defaultTtl` to be a positive number of minutes, got `0` (number)' });
      assert.throws(() => new LlmStateStore(rt, { ttl: { refreshOnRead: 'yes' as never } }), { message: 'Expected `ttl.refreshOnRead` to be a boolean, got `"yes"` (string)' });
      assert.throws(() => new LlmStateStore(rt, { ttl: { sweepIntervalMinutes: 5 } as never }), { message: /^Unknown field `ttl.sweepIntervalMinutes`/ });
      assert.throws(() => new LlmStateStore(rt, { other: 1 } as never), { message: /^Unknown option `other`/ });
      assert.throws(() => new LlmStateStore(rt, null as never), { message: 'Expected `options` to be an object, got `null`' });
    });

    it('refuses vector search: the `index` option and a search with `query`', async () => {
      assert.throws(() => new LlmStateStore(rt, { index: { dims: 3 } } as never), { name: 'TypeError', message: /does not support vector search, so it refuses the `index` option/ });
      await assert.rejects(store.search(['docs'], { query: 'python' }), { name: 'TypeError', message: /does not support vector search, so it refuses a search with `query`/ });
      await assert.rejects(store.batch([{ namespacePrefix: [], query: 'x' }]), { message: /`operations\[0\]\.query` is `"x"` \(string\)/ });
    });

    it('checks operations before any runs, so a bad one writes nothing', async () => {
      await assert.rejects(store.batch([{ namespace: ['a'], key: 'k', value: { n: 1 } }, { namespace: ['a'], key: 7 as never }]), {
        message: 'Expected `operations[1].key` to be a string, got `7` (number)',
      });
      await assert.rejects(store.batch([{ namespace: ['a'], key: 'k', value: 'text' as never }]), { message: /`operations\[0\]\.value` to be an object, or null/ });
      await assert.rejects(store.batch([{ namespace: ['a'], key: 'k', value: {}, ttl: -1 } as never]), { message: /`operations\[0\]\.ttl` to be a positive number of minutes/ });
      await assert.rejects(store.batch([{ namespacePrefix: [], limit: -1 } as never]), { message: /`operations\[0\]\.limit` to be a non-negative integer/ });
      await assert.rejects(store.batch([{ matchConditions: [{ matchType: 'infix', path: [] }], limit: 1, offset: 0 } as never]), { message: /matchConditions\[0\]/ });
      await assert.rejects(store.batch([{ whatever: 1 } as never]), { message: /to be a get, put, search or listNamespaces operation/ });
      assert.equal(await store.get(['a'], 'k'), null);
    });

    it('refuses a value that is not JSON data, as rt.state does', async () => {
      await assert.rejects(store.put(['a'], 'k', { at: new Date() }), { code: 'VALUE_INVALID' });
      assert.equal(await store.get(['a'], 'k'), null);
    });
  });

  describe('items', () => {
    it('keeps the creation time across updates, and moves the update time', async () => {
      await store.put(['a'], 'k', { n: 1 });
      clock.advance(5_000);
      await store.put(['a'], 'k', { n: 2 });
      const item = await store.get(['a'], 'k');
      assert.deepEqual(item, { value: { n: 2 }, key: 'k', namespace: ['a'], createdAt: new Date(clock.now() - 5_000), updatedAt: new Date(clock.now()) });
    });

    it('hands out copies: changing a returned value changes nothing stored', async () => {
      await store.put(['a'], 'k', { list: [1] });
      const item = await store.get(['a'], 'k');
      (item!.value.list as number[]).push(2);
      assert.deepEqual((await store.get(['a'], 'k'))!.value, { list: [1] });
    });

    it('stores each item as a readable record in its namespace scope, under a key that passes the key rules', async () => {
      const long = 'k'.repeat(300);
      await store.put(['users', 'é/1'], '__proto__', { n: 1 }, undefined, { ttl: 10 });
      await store.put(['users', 'é/1'], long, { n: 2 });
      const scope = namespaceScope(['users', 'é/1']);
      assert.equal(scope.toString(), 'custom:langgraph:store:users.%C3%A9%2F1');
      const entries = await rt.state.entries(scope);
      assert.equal(entries.length, 2);
      const at = new Date(clock.now()).toISOString();
      assert.deepEqual(entries[1], [
        'item:__proto__',
        { key: '__proto__', namespace: ['users', 'é/1'], value: { n: 1 }, createdAt: at, updatedAt: at, expiresAt: new Date(clock.now() + 10 * MINUTE).toISOString(), ttlMinutes: 10 },
      ]);
      assert.match(entries[0]![0], /^item:#[\w-]{43}$/, 'a key too long to spell out is hashed');
      assert.equal((entries[0]![1] as { key: string }).key, long, 'and the record keeps it whole');
      assert.deepEqual((await store.get(['users', 'é/1'], long))!.value, { n: 2 });
    });

    it('one batch writes each namespace in one unit: a value too large fails the namespace whole', async () => {
      const big = 'x'.repeat(1_100_000);
      await assert.rejects(
        store.batch([
          { namespace: ['a'], key: 'small', value: { n: 1 } },
          { namespace: ['a'], key: 'big', value: { big } },
        ]),
        { code: 'VALUE_TOO_LARGE' },
      );
      assert.equal(await store.get(['a'], 'small'), null);
    });

    it('keeps items of namespaces that differ only where LangGraph joins them apart', async () => {
      await store.batch([
        { namespace: ['a'], key: 'b:c', value: { n: 1 } },
        { namespace: ['a', 'b'], key: 'c', value: { n: 2 } },
      ]);
      assert.deepEqual((await store.get(['a'], 'b:c'))!.value, { n: 1 });
      assert.deepEqual((await store.get(['a', 'b'], 'c'))!.value, { n: 2 });
    });
  });

  describe('namespaces with awkward labels', () => {
    const LABELS = [['ünï', 'código', '🙂'], ['a/b', '@x', '\\'], ['%41', '#', '__proto__'], ['λ'.repeat(70)], ['a', 'λ'.repeat(70), 'deep']];

    it('round-trip through put, get, search and listNamespaces, hashed or not', async () => {
      for (const [i, namespace] of LABELS.entries()) await store.put(namespace, 'k', { i });
      for (const [i, namespace] of LABELS.entries()) assert.deepEqual((await store.get(namespace, 'k'))!.value, { i });
      const listed = await store.listNamespaces();
      assert.deepEqual(new Set(listed.map((ns) => JSON.stringify(ns))), new Set(LABELS.map((ns) => JSON.stringify(ns))));
      assert.deepEqual((await store.search(['a'])).map((item) => item.namespace), [['a', 'λ'.repeat(70), 'deep']], 'found by prefix though its scope id is a hash');
      assert.deepEqual(await store.listNamespaces({ prefix: ['λ'.repeat(70)] }), [['λ'.repeat(70)]]);
      assert.deepEqual(await store.listNamespaces({ suffix: ['deep'] }), [['a', 'λ'.repeat(70), 'deep']]);
      assert.deepEqual(await store.listNamespaces({ prefix: ['a'], maxDepth: 2 }), [['a', 'λ'.repeat(70)]]);
      assert.match(namespaceScope(['λ'.repeat(70)]).ids[0]!, /^langgraph:store:#/);
    });
  });

  describe('time to live', () => {
    it('an item put with a ttl is gone once it runs out, from every read', async () => {
      await store.put(['a'], 'short', { n: 1 }, undefined, { ttl: 1 });
      await store.put(['a'], 'long', { n: 2 }, undefined, { ttl: 10 });
      clock.advance(MINUTE - 1);
      assert.notEqual(await store.get(['a'], 'short', { refreshTtl: false }), null);
      clock.advance(1);
      assert.equal(await store.get(['a'], 'short'), null);
      assert.deepEqual((await store.search(['a'])).map((item) => item.key), ['long']);
      clock.advance(10 * MINUTE);
      assert.deepEqual(await store.search(['a']), []);
      assert.deepEqual(await store.listNamespaces(), [], 'a namespace of expired items is not listed');
    });

    it('a read restarts the clock of the items it returns, unless told not to', async () => {
      await store.put(['a'], 'k', { n: 1 }, undefined, { ttl: 2 });
      await store.put(['a'], 'other', { n: 2 }, undefined, { ttl: 2 });
      clock.advance(1.5 * MINUTE);
      assert.notEqual(await store.get(['a'], 'k'), null, 'refreshes k');
      await store.search(['a'], { filter: { n: 2 }, refreshTtl: false });
      clock.advance(1.5 * MINUTE);
      assert.notEqual(await store.get(['a'], 'k', { refreshTtl: false }), null);
      assert.equal(await store.get(['a'], 'other'), null);
      assert.deepEqual((await store.search(['a'])).map((item) => item.key), ['k'], 'and search refreshes too');
      clock.advance(1.5 * MINUTE);
      assert.notEqual(await store.get(['a'], 'k'), null);
    });

    it('takes the default ttl, which a put overrides (null: never), and refreshOnRead: false', async () => {
      const quiet = new LlmStateStore(rt, { clock, ttl: { defaultTtl: 1, refreshOnRead: false } });
      await quiet.put(['d'], 'default', { n: 1 });
      await quiet.put(['d'], 'forever', { n: 2 }, undefined, { ttl: null });
      await quiet.batch([{ namespace: ['d'], key: 'five', value: { n: 3 }, ttl: 5 } as never]);
      clock.advance(MINUTE / 2);
      assert.notEqual(await quiet.get(['d'], 'default'), null, 'does not refresh');
      clock.advance(MINUTE / 2);
      assert.deepEqual((await quiet.search(['d'])).map((item) => item.key), ['five', 'forever']);
      assert.notEqual(await quiet.get(['d'], 'five', { refreshTtl: true }), null);
      clock.advance(4.5 * MINUTE);
      assert.deepEqual((await quiet.search(['d'])).map((item) => item.key), ['five', 'forever']);
    });

    it('a put over an expired item starts a new one', async () => {
      await store.put(['a'], 'k', { n: 1 }, undefined, { ttl: 1 });
      clock.advance(2 * MINUTE);
      await store.put(['a'], 'k', { n: 2 });
      const item = await store.get(['a'], 'k');
      assert.equal(item!.createdAt.getTime(), clock.now());
    });

    it('sweepExpired removes the expired items, each namespace in one unit, and counts them', async () => {
      await store.put(['a'], 'x', { n: 1 }, undefined, { ttl: 1 });
      await store.put(['a'], 'y', { n: 2 }, undefined, { ttl: 1 });
      await store.put(['a'], 'z', { n: 3 });
      await store.put(['b', 'c'], 'x', { n: 4 }, undefined, { ttl: 1 });
      await store.put(['b', 'c'], 'w', { n: 5 }, undefined, { ttl: 3 });
      clock.advance(2 * MINUTE);
      const before = (await rt.events.query({ kinds: ['state.delete'] })).length;
      assert.equal(await store.sweepExpired(), 3);
      assert.deepEqual(await rt.state.listKeys(namespaceScope(['a'])), ['item:z']);
      assert.deepEqual(await rt.state.listKeys(namespaceScope(['b', 'c'])), ['item:w']);
      const deletes = (await rt.events.query({ kinds: ['state.delete'] })).slice(before);
      assert.equal(deletes.length, 3);
      assert.equal(new Set(deletes.filter((event) => event.scope === 'custom:langgraph:store:a').map((event) => event.seq)).size, 1, 'one batch for a namespace');
      assert.equal(await store.sweepExpired(), 0);
      clock.advance(2 * MINUTE);
      assert.equal(await store.sweepExpired(), 1);
      assert.deepEqual(await store.listNamespaces(), [['a']]);
    });

    it('a sweep leaves an item refreshed or replaced after it was found expired', async () => {
      await store.put(['a'], 'k', { n: 1 }, undefined, { ttl: 1 });
      clock.advance(2 * MINUTE);
      const sweeping = store.sweepExpired();
      await store.put(['a'], 'k', { n: 2 });
      await sweeping;
      assert.deepEqual((await store.get(['a'], 'k'))!.value, { n: 2 });
    });
  });
});

describe('LlmStateStore through an access view', () => {
  let rt: Runtime;
  afterEach(() => rt.close());

  it('refuses a namespace the principal holds no grant on, and allows it with one', async () => {
    rt = await createRuntime({ memory: true });
    const admin = new LlmStateStore(rt);
    await admin.put(['users', 'ada'], 'prefs', { theme: 'dark' });
    await admin.put(['users', 'bob'], 'prefs', { theme: 'light' });
    const ada = new LlmStateStore(rt.as('agent:ada'));

    await assert.rejects(ada.get(['users', 'ada'], 'prefs'), { code: 'ACCESS_DENIED' });
    await assert.rejects(ada.put(['users', 'ada'], 'prefs', { theme: 'blue' }), { code: 'ACCESS_DENIED' });
    assert.deepEqual(await ada.listNamespaces(), [], 'lists only what it may list');
    assert.deepEqual(await ada.search(['users']), []);

    await rt.access.grant({ principal: 'agent:ada', scope: namespaceScope(['users', 'ada']), permissions: ['read', 'write', 'list'] });
    await ada.put(['users', 'ada'], 'prefs', { theme: 'blue' });
    assert.deepEqual((await ada.get(['users', 'ada'], 'prefs'))!.value, { theme: 'blue' });
    assert.deepEqual(await ada.listNamespaces(), [['users', 'ada']]);
    assert.deepEqual((await ada.search(['users'])).map((item) => item.value), [{ theme: 'blue' }]);
    await assert.rejects(ada.get(['users', 'bob'], 'prefs'), { code: 'ACCESS_DENIED' });
    await assert.rejects(ada.delete(['users', 'bob'], 'prefs'), { code: 'ACCESS_DENIED' });
    assert.deepEqual((await admin.get(['users', 'bob'], 'prefs'))!.value, { theme: 'light' });
  });

  it('grants on a pattern cover a subtree of namespaces', async () => {
    rt = await createRuntime({ memory: true });
    const admin = new LlmStateStore(rt);
    await admin.put(['team', 'x'], 'k', { n: 1 });
    await admin.put(['other'], 'k', { n: 2 });
    await rt.access.grant({ principal: 'reader', scopePattern: 'custom:langgraph:store:team.*', permissions: ['read', 'list'] });
    const reader = new LlmStateStore(rt.as('reader'), { ttl: { refreshOnRead: false } });
    assert.deepEqual((await reader.search([])).map((item) => item.namespace), [['team', 'x']]);
    await assert.rejects(reader.put(['team', 'x'], 'k', { n: 3 }), { code: 'ACCESS_DENIED' });
  });

  it('a principal that only reads is told how to read items with a time to live without refreshing them', async () => {
    rt = await createRuntime({ memory: true });
    await new LlmStateStore(rt).put(['team'], 'k', { n: 1 }, undefined, { ttl: 5 });
    await rt.access.grant({ principal: 'reader', scope: namespaceScope(['team']), permissions: ['read', 'list'] });
    const reader = new LlmStateStore(rt.as('reader'));
    await assert.rejects(reader.get(['team'], 'k'), { code: 'ACCESS_DENIED', message: /restarts it, which writes to custom:langgraph:store:team.*pass `refreshTtl: false`/s });
    assert.deepEqual((await reader.get(['team'], 'k', { refreshTtl: false }))!.value, { n: 1 });
    assert.equal((await reader.search(['team'], { refreshTtl: false })).length, 1);
  });

  it('every operation on a closed runtime rejects with RUNTIME_CLOSED', async () => {
    rt = await createRuntime({ memory: true });
    const store = new LlmStateStore(rt);
    await store.put(['a'], 'k', { n: 1 });
    await rt.close();
    for (const call of [
      () => store.get(['a'], 'k'),
      () => store.put(['a'], 'k', { n: 2 }),
      () => store.delete(['a'], 'k'),
      () => store.search([]),
      () => store.listNamespaces(),
      () => store.sweepExpired(),
    ]) {
      await assert.rejects(call(), { code: 'RUNTIME_CLOSED' });
    }
  });
});

describe('LlmStateStore on disk', () => {
  it('keeps every acknowledged put across close and reopen', async () => {
    const fixture = new RuntimeFixture('lg-store-durable');
    try {
      let rt = await fixture.open();
      let store = new LlmStateStore(rt);
      await store.put(['users', 'u1'], 'prefs', { theme: 'dark' });
      await store.put(['λ'.repeat(70)], 'k', { hashed: true });
      await store.batch([
        { namespace: ['users', 'u1'], key: 'gone', value: { n: 1 } },
        { namespace: ['users', 'u2'], key: 'notes', value: { text: 'hi' } },
      ]);
      await store.delete(['users', 'u1'], 'gone');
      rt = await fixture.reopen(rt);
      store = new LlmStateStore(rt);
      assert.deepEqual((await store.get(['users', 'u1'], 'prefs'))!.value, { theme: 'dark' });
      assert.equal(await store.get(['users', 'u1'], 'gone'), null);
      assert.deepEqual((await store.search(['users'])).map((item) => [item.namespace, item.key]), [
        [['users', 'u1'], 'prefs'],
        [['users', 'u2'], 'notes'],
      ]);
      assert.deepEqual(await store.listNamespaces(), [['users', 'u1'], ['users', 'u2'], ['λ'.repeat(70)]]);
    } finally {
      await fixture.dispose();
    }
  });
});


