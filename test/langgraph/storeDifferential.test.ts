/**
 * LlmStateStore against LangGraph's InMemoryStore: the same batches on both, compared result for result
 * (timestamps left out; storeReference.ts says what else the reference absorbs).
 */
import assert from 'node:assert/strict';
import type { Operation } from '@langchain/langgraph-checkpoint';
import type { Runtime } from '../../src/index.js';
import type { LlmStateStore } from '../../src/langgraph/index.js';
import { openStore } from './storeFixture.js';
import { comparable, ReferenceStore } from './storeReference.js';

const LONG = 'λ'.repeat(70);

describe('LlmStateStore matches InMemoryStore', () => {
  let rt: Runtime;
  let store: LlmStateStore;
  let reference: ReferenceStore;

  beforeEach(async () => {
    ({ store, rt } = await openStore());
    reference = new ReferenceStore();
  });
  afterEach(() => rt.close());

  /** Runs one batch on both and asserts the same outcome (results, or a refusal when `refused`); returns it. */
  async function same(operations: Operation[], refused = false): Promise<unknown[]> {
    const expected = await outcome(() => reference.batch(structuredClone(operations)));
    const actual = await outcome(() => store.batch(structuredClone(operations)));
    assert.deepEqual(actual, expected, `batch ${JSON.stringify(operations)}`);
    assert.equal(Array.isArray(actual), !refused, `outcome ${JSON.stringify(actual)}`);
    return actual as unknown[];
  }

  const put = (namespace: string[], key: string, value: Record<string, unknown> | null): Operation => ({ namespace, key, value });
  const get = (namespace: string[], key: string): Operation => ({ namespace, key });
  const search = (namespacePrefix: string[], rest: { filter?: Record<string, unknown>; limit?: number; offset?: number } = {}): Operation => ({
    namespacePrefix,
    limit: 10,
    offset: 0,
    ...rest,
  });
  const list = (rest: { prefix?: string[]; suffix?: string[]; maxDepth?: number; limit?: number; offset?: number } = {}): Operation => ({
    matchConditions: [
      ...(rest.prefix === undefined ? [] : [{ matchType: 'prefix' as const, path: rest.prefix }]),
      ...(rest.suffix === undefined ? [] : [{ matchType: 'suffix' as const, path: rest.suffix }]),
    ],
    maxDepth: rest.maxDepth,
    limit: rest.limit ?? 100,
    offset: rest.offset ?? 0,
  });

  async function seed(): Promise<void> {
    await same([
      put(['users', 'u1'], 'prefs', { theme: 'dark', score: 5, active: true, tag: null }),
      put(['users', 'u1'], 'notes', { theme: 'light', score: 2, active: false }),
      put(['users', 'u2'], 'prefs', { theme: 'dark', score: '7', active: true }),
      put(['users', 'u2', 'drafts'], 'd1', { score: 3.5, kind: 'draft' }),
      put(['usersx'], 'k', { score: 1 }),
      put(['docs'], 'a', { theme: 'dark', score: 4, list: [1, 2] }),
      put(['docs', 'v1'], 'b', { score: 0 }),
    ]);
  }

  it('put, get, update and delete', async () => {
    await same([put(['a'], 'k', { n: 1 }), get(['a'], 'k')]);
    await same([get(['a'], 'k'), get(['a'], 'missing'), get(['b'], 'k')]);
    await same([put(['a'], 'k', { n: 2, extra: { deep: [1, 'x'] } })]);
    await same([get(['a'], 'k')]);
    await same([put(['a'], 'k', null), put(['a'], 'never', null)]);
    await same([get(['a'], 'k'), search([])]);
  });

  it('in one batch, reads see the store before its writes, and the last put of an item wins', async () => {
    await same([put(['a'], 'k', { n: 1 })]);
    await same([put(['a'], 'k', { n: 2 }), get(['a'], 'k'), search(['a']), list(), put(['a'], 'k', { n: 3 }), put(['b'], 'j', { n: 1 })]);
    await same([get(['a'], 'k'), get(['b'], 'j'), list()]);
    await same([put(['a'], 'k', { n: 4 }), put(['a'], 'k', null)]);
    await same([get(['a'], 'k'), list()]);
    await same([put(['a'], 'k', null), put(['a'], 'k', { n: 5 })]);
    await same([get(['a'], 'k')]);
  });

  it('search: namespace prefixes go label by label', async () => {
    await seed();
    await same([search([]), search(['users']), search(['users', 'u2']), search(['users', 'u']), search(['usersx']), search(['nothing'])]);
    await same([search(['users', 'u2', 'drafts']), search(['docs']), search(['docs', 'v1', 'deeper'])]);
  });

  it('search: plain equality filters', async () => {
    await seed();
    await same([
      search([], { filter: { theme: 'dark' } }),
      search([], { filter: { score: 5 } }),
      search([], { filter: { score: '7' } }),
      search([], { filter: { active: false } }),
      search([], { filter: { tag: null } }),
      search([], { filter: { theme: 'dark', active: true } }),
      search([], { filter: { missing: 'x' } }),
      search(['users'], { filter: { theme: 'dark' } }),
    ]);
  });

  it('search: $eq, $ne, $gt, $gte, $lt, $lte, $in and $nin', async () => {
    await seed();
    await same([
      search([], { filter: { theme: { $eq: 'dark' } } }),
      search([], { filter: { theme: { $ne: 'dark' } } }),
      search([], { filter: { score: { $gt: 3 } } }),
      search([], { filter: { score: { $gte: 3.5 } } }),
      search([], { filter: { score: { $lt: 3.5 } } }),
      search([], { filter: { score: { $lte: 2 } } }),
      search([], { filter: { score: { $gt: 1, $lt: 5 } } }),
      search([], { filter: { score: { $gt: '4' } } }),
      search([], { filter: { theme: { $gt: 'a' } } }),
      search([], { filter: { theme: { $in: ['light', 'none'] } } }),
      search([], { filter: { theme: { $nin: ['light'] } } }),
      search([], { filter: { score: { $gte: 2 }, theme: 'dark' } }),
      search([], { filter: { score: {} } }),
      search([], { filter: {} }),
    ]);
  });

  it('search: limit and offset page through namespace-then-key order', async () => {
    await seed();
    await same([search([], { limit: 3 }), search([], { limit: 3, offset: 3 }), search([], { limit: 3, offset: 6 }), search([], { limit: 0 })]);
    await same([search(['users'], { limit: 2, offset: 1 }), search([], { offset: 100 }), search([], { filter: { theme: 'dark' }, limit: 1, offset: 1 })]);
  });

  it('listNamespaces: prefix, suffix, wildcards, maxDepth, limit and offset', async () => {
    await seed();
    await same([list(), list({ prefix: ['users'] }), list({ prefix: ['users', 'u2'] }), list({ prefix: ['user'] }), list({ suffix: ['prefs'] })]);
    await same([list({ suffix: ['u2'] }), list({ suffix: ['drafts'] }), list({ prefix: ['users'], suffix: ['drafts'] }), list({ prefix: ['*', 'u1'] })]);
    await same([list({ suffix: ['*'] }), list({ prefix: ['users', '*', 'drafts'] }), list({ prefix: ['docs', 'v1', 'x'] })]);
    await same([list({ maxDepth: 1 }), list({ maxDepth: 2 }), list({ prefix: ['users'], maxDepth: 2 }), list({ maxDepth: 5 })]);
    await same([list({ limit: 2 }), list({ limit: 2, offset: 2 }), list({ offset: 5 }), list({ maxDepth: 1, limit: 1, offset: 1 })]);
  });

  it('a namespace whose items are all deleted is no longer listed', async () => {
    await seed();
    await same([put(['usersx'], 'k', null), put(['docs', 'v1'], 'b', null)]);
    await same([list(), list({ maxDepth: 1 }), search([])]);
  });

  it('awkward labels and keys: Unicode, slashes, dot segments, reserved prefixes, very long', async () => {
    const namespaces = [['é', 'x/y'], ['🙂'], ['/', '\\', '%2E'], ['__proto__'], [LONG], [LONG, LONG], ['a', LONG], ['a'], ['e\u0301']];
    const keys = ['', '..', '/x', '__k', 'ü\u0308', 'a\\b', 'k'.repeat(300), '%41'];
    await same(namespaces.flatMap((namespace, i) => keys.map((key, j) => put(namespace, key, { i, j }))));
    await same(namespaces.flatMap((namespace) => keys.map((key) => get(namespace, key))));
    await same([search([], { limit: 100 }), search([LONG], { limit: 100 }), search(['a'], { limit: 100 }), list(), list({ prefix: [LONG] }), list({ suffix: [LONG] })]);
    await same([list({ prefix: ['a'], maxDepth: 1 }), list({ maxDepth: 1 }), search([], { filter: { j: { $gte: 6 } }, limit: 100 })]);
  });

  it('namespaces that break LangGraph rules are refused alike (InvalidNamespaceError)', async () => {
    for (const namespace of [[], ['a.b'], ['a:b'], [''], ['a', ''], ['nul\0']]) {
      const results = await same([get(namespace, 'k')], true);
      assert.equal((results as unknown as { name: string }).name, 'InvalidNamespaceError');
      await same([put(['ok'], 'k', { n: 1 }), put(namespace, 'k', { n: 1 })], true);
    }
    await same([search(['a.b'])], true);
    await same([search([]), list()]);
    await same([put(['langgraph', 'x'], 'k', { n: 1 }), get(['langgraph', 'x'], 'k')]);
  });

  it('the convenience methods: get, put, delete, search and listNamespaces', async () => {
    for (const target of [reference.inner, store]) {
      await target.put(['users', 'u1'], 'prefs', { theme: 'dark' });
      await target.put(['users', 'u2'], 'prefs', { theme: 'light' });
      await target.delete(['users', 'u2'], 'prefs');
    }
    assert.deepEqual(comparable([await store.get(['users', 'u1'], 'prefs')]), comparable([await reference.inner.get(['users', 'u1'], 'prefs')]));
    assert.deepEqual(comparable([await store.search(['users'])]), comparable([await reference.inner.search(['users'])]));
    assert.deepEqual(await store.listNamespaces({ prefix: ['users'] }), [['users', 'u1']]);
    await assert.rejects(store.put(['langgraph'], 'k', {}), { name: 'InvalidNamespaceError' });
    await assert.rejects(reference.inner.put(['langgraph'], 'k', {}), { name: 'InvalidNamespaceError' });
  });
});

async function outcome(run: () => Promise<unknown[]>): Promise<unknown> {
  try {
    return comparable(await run());
  } catch (error) {
    return { name: (error as Error).name, message: (error as Error).message };
  }
}
