import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { LlmStateError } from '../errors.js';
import {
  SUBLEVELS,
  type BatchOp,
  type Entry,
  type RangeOptions,
  type StorageBackend,
  type SublevelName,
} from './StorageBackend.js';

/** The optional features a backend has. The suite runs the tests of a feature only when it is `true`. */
export interface StorageSuiteSupports {
  /** Data outlives the backend object: a new backend over the same location reads it back. */
  persistence: boolean;
  /** `batch(ops, { sync: true })` reaches stable storage before it resolves. */
  sync: boolean;
}

/** The few test-runner functions the suite needs; mocha's globals fit. */
export interface StorageSuiteHarness {
  describe(name: string, fn: () => void): void;
  it(name: string, fn: () => Promise<void> | void): void;
}

export interface StorageSuiteOptions {
  /** Names the backend in test titles, such as `classic-level`. */
  name: string;
  /** Returns a new, unopened backend over empty storage of its own. Called one or more times per test. */
  factory: () => Promise<StorageBackend> | StorageBackend;
  /**
   * Returns a new, unopened backend over the same data as `closed`, as a later process would see it.
   * Called only after `closed` has been closed. Required when `supports.persistence` is true. For a
   * backend on disk this is typically `(closed) => createDiskBackend(closed.location)`.
   */
  reopen?: (closed: StorageBackend) => Promise<StorageBackend> | StorageBackend;
  supports: StorageSuiteSupports;
  harness: StorageSuiteHarness;
}

type Test = (name: string, body: (stores: Stores) => Promise<void>) => void;

/**
 * Registers the storage compliance tests for one {@link StorageBackend} implementation: every backend
 * must pass the same tests, so that the runtime can rely on the contract rather than on a backend.
 * Every backend a test creates is closed when the test ends; cleaning up the storage behind it (such as
 * a temporary directory) is the caller's job.
 */
export function storageSuite(options: StorageSuiteOptions): void {
  if (options.supports.persistence && options.reopen === undefined) {
    throw new TypeError(`storageSuite(${options.name}): supports.persistence needs a reopen function`);
  }
  const { describe, it } = options.harness;
  const test: Test = (name, body) =>
    it(name, async () => {
      const stores = new Stores(options);
      try {
        await body(stores);
      } finally {
        await stores.closeAll();
      }
    });

  describe(`storage compliance: ${options.name}`, () => {
    describe('lifecycle', () => lifecycleTests(test));
    describe('reads and writes', () => readWriteTests(test));
    describe('batches', () => batchTests(test));
    describe('interceptors', () => interceptorTests(test));
    describe('iteration', () => iterationTests(test));
    describe('snapshots', () => snapshotTests(test));
    describe('keys and values', () => keyAndValueTests(test));
    if (options.supports.persistence) describe('persistence', () => persistenceTests(test));
    if (options.supports.sync) describe('sync', () => syncTests(test));
  });
}

/**
 * Runs `action` and returns the `STORAGE_FAILED` error it throws or rejects with; fails the test when it
 * succeeds or fails in any other way.
 */
export async function storageFailure(action: () => unknown): Promise<LlmStateError> {
  try {
    await action();
  } catch (err) {
    assert.ok(err instanceof LlmStateError, `expected an LlmStateError, got ${String(err)}`);
    assert.equal(err.code, 'STORAGE_FAILED');
    return err;
  }
  assert.fail('expected the operation to fail with STORAGE_FAILED');
}

/** The backends of one test, so that each is closed when the test ends, pass or fail. */
class Stores {
  readonly #options: StorageSuiteOptions;
  readonly #created: StorageBackend[] = [];

  constructor(options: StorageSuiteOptions) {
    this.#options = options;
  }

  async unopened(): Promise<StorageBackend> {
    return this.#track(await this.#options.factory());
  }

  async opened(): Promise<StorageBackend> {
    const backend = await this.unopened();
    await backend.open();
    return backend;
  }

  /** Closes `backend` and opens a new backend over its data. */
  async reopened(backend: StorageBackend): Promise<StorageBackend> {
    assert.ok(this.#options.reopen, 'reopen is required for persistence tests');
    await backend.close();
    const next = this.#track(await this.#options.reopen(backend));
    await next.open();
    return next;
  }

  async closeAll(): Promise<void> {
    for (const backend of this.#created) await backend.close();
  }

  #track(backend: StorageBackend): StorageBackend {
    this.#created.push(backend);
    return backend;
  }
}

function lifecycleTests(test: Test): void {
  test('a new backend is closed, and reports opening, open, closing and closed as it moves', async (stores) => {
    const backend = await stores.unopened();
    assert.equal(backend.status, 'closed');
    const opening = backend.open();
    assert.equal(backend.status, 'opening');
    await opening;
    assert.equal(backend.status, 'open');
    const closing = backend.close();
    assert.equal(backend.status, 'closing');
    await closing;
    assert.equal(backend.status, 'closed');
  });

  test('opening a store that is already open rejects with STORAGE_FAILED', async (stores) => {
    const backend = await stores.opened();
    await storageFailure(() => backend.open());
    assert.equal(backend.status, 'open');
  });

  test('closing a closed store does nothing', async (stores) => {
    const backend = await stores.opened();
    await backend.close();
    await backend.close();
    assert.equal(backend.status, 'closed');
  });

  test('every operation on a store that was never opened rejects with STORAGE_FAILED', async (stores) => {
    await assertEveryOperationFails(await stores.unopened());
  });

  test('every operation on a closed store rejects with STORAGE_FAILED', async (stores) => {
    const backend = await stores.opened();
    await backend.close();
    await assertEveryOperationFails(backend);
  });

  test('a store closed and opened again serves reads, writes and iteration', async (stores) => {
    const backend = await stores.opened();
    await backend.close();
    await backend.open();
    await backend.batch([put('state', 'k', 'v')]);
    assert.equal(await text(backend, 'state', 'k'), 'v');
    assert.deepEqual(await entries(backend, 'state'), [['k', 'v']]);
  });

  test('approximateSize() reports a non-negative number of bytes, or undefined', async (stores) => {
    const backend = await stores.opened();
    await backend.batch([put('state', 'k', randomBytes(4096))]);
    const size = await backend.approximateSize();
    if (size !== undefined) assert.ok(Number.isFinite(size) && size >= 0, `approximateSize() returned ${size}`);
  });
}

async function assertEveryOperationFails(backend: StorageBackend): Promise<void> {
  const operations: Record<string, () => unknown> = {
    get: () => backend.get('state', bytes('k')),
    batch: () => backend.batch([put('state', 'k', 'v')]),
    iterate: () => backend.iterate('state').next(),
    snapshot: () => backend.snapshot(),
    approximateSize: () => backend.approximateSize(),
  };
  for (const [name, operation] of Object.entries(operations)) {
    const err = await storageFailure(operation);
    assert.ok(err.message.includes(backend.location), `${name}: "${err.message}" does not name the store`);
  }
}

function readWriteTests(test: Test): void {
  test('a value put in any namespace is read back, and is gone once deleted', async (stores) => {
    const backend = await stores.opened();
    for (const sublevel of SUBLEVELS) {
      await backend.batch([put(sublevel, 'key', `value in ${sublevel}`)]);
      assert.equal(await text(backend, sublevel, 'key'), `value in ${sublevel}`);
      await backend.batch([del(sublevel, 'key')]);
      assert.equal(await backend.get(sublevel, bytes('key')), undefined);
    }
  });

  test('a missing key reads as undefined', async (stores) => {
    const backend = await stores.opened();
    assert.equal(await backend.get('state', bytes('missing')), undefined);
  });

  test('the same key in different namespaces holds different values', async (stores) => {
    const backend = await stores.opened();
    await backend.batch(SUBLEVELS.map((sublevel) => put(sublevel, 'shared', sublevel)));
    await backend.batch([del('events', 'shared')]);
    for (const sublevel of SUBLEVELS) {
      const expected = sublevel === 'events' ? undefined : sublevel;
      assert.equal(await text(backend, sublevel, 'shared'), expected, `in ${sublevel}`);
    }
  });

  // 'events' is a prefix of 'eventsByAgent' and 'eventsByCorrelation': the likeliest place for a leak.
  test('iterating one namespace never yields entries of another', async (stores) => {
    const backend = await stores.opened();
    await backend.batch(SUBLEVELS.map((sublevel) => put(sublevel, `key of ${sublevel}`, sublevel)));
    for (const sublevel of SUBLEVELS) {
      assert.deepEqual(await entries(backend, sublevel), [[`key of ${sublevel}`, sublevel]]);
    }
  });
}

function batchTests(test: Test): void {
  test('one batch applies puts and deletes across several namespaces', async (stores) => {
    const backend = await stores.opened();
    await backend.batch([put('state', 'a', 'old'), put('events', 'b', 'old'), put('meta', 'c', 'old')]);
    await backend.batch([
      put('state', 'a', 'new'),
      del('events', 'b'),
      put('audit', 'd', 'added'),
      del('meta', 'c'),
      put('meta', 'e', 'added'),
    ]);
    assert.deepEqual(await entries(backend, 'state'), [['a', 'new']]);
    assert.deepEqual(await entries(backend, 'events'), []);
    assert.deepEqual(await entries(backend, 'audit'), [['d', 'added']]);
    assert.deepEqual(await entries(backend, 'meta'), [['e', 'added']]);
  });

  test('within a batch, a later operation on the same key wins', async (stores) => {
    const backend = await stores.opened();
    await backend.batch([put('outbox', 'kept', 'old')]);
    await backend.batch([
      put('hooks', 'dropped', 'v'),
      del('hooks', 'dropped'),
      del('outbox', 'kept'),
      put('outbox', 'kept', 'new'),
      put('agents', 'twice', 'first'),
      put('agents', 'twice', 'second'),
    ]);
    assert.equal(await backend.get('hooks', bytes('dropped')), undefined);
    assert.equal(await text(backend, 'outbox', 'kept'), 'new');
    assert.equal(await text(backend, 'agents', 'twice'), 'second');
  });

  test('a batch the backend rejects writes none of its operations and fails with STORAGE_FAILED', async (stores) => {
    const backend = await stores.opened();
    await backend.batch([put('state', 'a', 'old')]);
    // A null key is invalid to every backend; it comes last so that a non-atomic write would leave traces.
    const invalid = { type: 'put', sublevel: 'events', key: null, value: bytes('v') } as unknown as BatchOp;
    const err = await storageFailure(() =>
      backend.batch([put('state', 'a', 'new'), put('state', 'b', 'new'), put('audit', 'c', 'new'), invalid]),
    );
    assert.match(err.message, /nothing was written/);
    assert.deepEqual(await entries(backend, 'state'), [['a', 'old']]);
    assert.deepEqual(await entries(backend, 'audit'), []);
  });

  test('an empty batch succeeds without consulting interceptors or changing anything', async (stores) => {
    const backend = await stores.opened();
    await backend.batch([put('state', 'a', 'v')]);
    backend.intercept({
      beforeBatch() {
        throw new Error('an empty batch reached the interceptor');
      },
    });
    await backend.batch([]);
    assert.deepEqual(await entries(backend, 'state'), [['a', 'v']]);
  });
}

function interceptorTests(test: Test): void {
  test('getNow reads what get reads, or declines; it declines while an interceptor acts on reads, and once closed', async (stores) => {
    const backend = await stores.opened();
    await backend.batch([put('state', 'a', 'v')]);
    const key = Buffer.from('a');
    const now = backend.getNow('state', key);
    if (now !== undefined) {
      assert.deepEqual(now.value, await backend.get('state', key));
      assert.deepEqual(backend.getNow('state', Buffer.from('missing')), { value: undefined });
      assert.equal(backend.getNow('audit', key)?.value, undefined, 'sublevels are separate');
    }
    let acting = true;
    const stop = backend.intercept({ beforeGet: () => {}, interceptsReads: () => acting });
    assert.equal(backend.getNow('state', key), undefined);
    acting = false;
    assert.deepEqual(backend.getNow('state', key), now);
    stop();
    backend.intercept({ beforeGet: () => {} });
    assert.equal(backend.getNow('state', key), undefined, 'an interceptor that does not say is taken to act');
    await backend.close();
    assert.equal(backend.getNow('state', key), undefined);
  });

  test('an interceptor sees the operations of a batch before they are written', async (stores) => {
    const backend = await stores.opened();
    const ops = [put('state', 'a', 'v'), del('events', 'b')];
    const seen: Array<{ ops: readonly BatchOp[]; stored: string | undefined }> = [];
    backend.intercept({
      async beforeBatch(batchOps) {
        seen.push({ ops: batchOps, stored: await text(backend, 'state', 'a') });
      },
    });
    await backend.batch(ops);
    assert.deepEqual(seen, [{ ops, stored: undefined }]);
  });

  test('a batch that an interceptor fails leaves no trace and rejects with STORAGE_FAILED', async (stores) => {
    const backend = await stores.opened();
    await backend.batch([put('state', 'a', 'old'), put('events', 'b', 'old')]);
    const injected = new Error('injected write failure');
    backend.intercept({
      beforeBatch() {
        throw injected;
      },
    });
    const err = await storageFailure(() =>
      backend.batch([put('state', 'a', 'new'), del('events', 'b'), put('audit', 'c', 'new')]),
    );
    assert.equal(err.cause, injected);
    assert.deepEqual(await entries(backend, 'state'), [['a', 'old']]);
    assert.deepEqual(await entries(backend, 'events'), [['b', 'old']]);
    assert.deepEqual(await entries(backend, 'audit'), []);
  });

  test('a read that an interceptor fails rejects with STORAGE_FAILED', async (stores) => {
    const backend = await stores.opened();
    const injected = new Error('injected read failure');
    backend.intercept({
      beforeGet() {
        throw injected;
      },
    });
    const err = await storageFailure(() => backend.get('state', bytes('a')));
    assert.equal(err.cause, injected);
  });

  test('the function intercept() returns removes that interceptor and no other', async (stores) => {
    const backend = await stores.opened();
    const calls: string[] = [];
    const removeFirst = backend.intercept({ beforeBatch: () => void calls.push('first') });
    backend.intercept({ beforeBatch: () => void calls.push('second') });
    removeFirst();
    await backend.batch([put('state', 'a', 'v')]);
    assert.deepEqual(calls, ['second']);
    assert.equal(await text(backend, 'state', 'a'), 'v');
  });
}

function iterationTests(test: Test): void {
  // U+FF01 sorts before U+1F600 in UTF-16 but after it in UTF-8, so this catches string comparison.
  test('iteration yields keys in bytewise order, which for UTF-8 is code point order', async (stores) => {
    const backend = await stores.opened();
    const ordered = ['A', 'Z', 'a', 'z', 'é', '中', '！', '😀'];
    await backend.batch([...ordered].reverse().map((key) => put('state', key, key)));
    assert.deepEqual(await keys(backend, 'state'), ordered);
  });

  test('range options select and order entries', async (stores) => {
    const backend = await stores.opened();
    await backend.batch(['a', 'b', 'c', 'd', 'e'].map((key) => put('events', key, key)));
    const cases: Array<[name: string, range: RangeOptions, expected: string[]]> = [
      ['gt', { gt: bytes('b') }, ['c', 'd', 'e']],
      ['gte', { gte: bytes('b') }, ['b', 'c', 'd', 'e']],
      ['lt', { lt: bytes('d') }, ['a', 'b', 'c']],
      ['lte', { lte: bytes('d') }, ['a', 'b', 'c', 'd']],
      ['gt and lt', { gt: bytes('a'), lt: bytes('e') }, ['b', 'c', 'd']],
      ['bounds between keys', { gte: bytes('bb'), lte: bytes('dd') }, ['c', 'd']],
      ['reverse', { reverse: true }, ['e', 'd', 'c', 'b', 'a']],
      ['limit', { limit: 2 }, ['a', 'b']],
      ['limit 0', { limit: 0 }, []],
      ['reverse with limit and bound', { reverse: true, limit: 2, lt: bytes('e') }, ['d', 'c']],
    ];
    for (const [name, range, expected] of cases) {
      assert.deepEqual(await keys(backend, 'events', range), expected, name);
    }
  });

  test('a range bound given as undefined is ignored', async (stores) => {
    const backend = await stores.opened();
    await backend.batch(['a', 'b', 'z'].map((key) => put('state', key, key)));
    const range = { gte: bytes('b'), lt: undefined, reverse: undefined };
    assert.deepEqual(await keys(backend, 'state', range), ['b', 'z']);
  });

  test('an iteration under way does not see writes made after it began', async (stores) => {
    const backend = await stores.opened();
    // Enough data that a backend reading ahead in chunks still has entries left to read after the writes.
    const before = Array.from({ length: 500 }, (_, i) => `k${String(i).padStart(3, '0')}`);
    await backend.batch(before.map((key) => put('state', key, randomBytes(64))));
    const seen: string[] = [];
    for await (const [key] of backend.iterate('state')) {
      if (seen.length === 0) {
        await backend.batch([put('state', 'k250a', 'added'), put('state', 'zzz', 'added'), del('state', 'k499')]);
      }
      seen.push(key.toString());
    }
    assert.deepEqual(seen, before);
  });
}

function snapshotTests(test: Test): void {
  test('reads through a snapshot ignore later puts, overwrites and deletes in every namespace', async (stores) => {
    const backend = await stores.opened();
    await backend.batch([put('state', 'changed', 'old'), put('state', 'deleted', 'old'), put('events', 'e', 'old')]);
    const snapshot = backend.snapshot();
    try {
      await backend.batch([
        put('state', 'changed', 'new'),
        del('state', 'deleted'),
        put('state', 'added', 'new'),
        put('events', 'e', 'new'),
        put('audit', 'added', 'new'),
      ]);
      const read = async (sublevel: SublevelName, key: string) =>
        (await backend.get(sublevel, bytes(key), { snapshot }))?.toString();
      assert.equal(await read('state', 'changed'), 'old');
      assert.equal(await read('state', 'deleted'), 'old');
      assert.equal(await read('state', 'added'), undefined);
      assert.equal(await read('events', 'e'), 'old');
      assert.equal(await read('audit', 'added'), undefined);
      assert.equal(await text(backend, 'state', 'changed'), 'new', 'reads without the snapshot see the present');
    } finally {
      await snapshot.close();
    }
  });

  test('iteration through a snapshot ignores later writes and deletes', async (stores) => {
    const backend = await stores.opened();
    await backend.batch([put('agents', 'a', 'old'), put('agents', 'b', 'old'), put('agents', 'c', 'old')]);
    const snapshot = backend.snapshot();
    try {
      await backend.batch([put('agents', 'a', 'new'), del('agents', 'b'), put('agents', 'bb', 'new')]);
      const expected = [
        ['a', 'old'],
        ['b', 'old'],
        ['c', 'old'],
      ];
      assert.deepEqual(await entries(backend, 'agents', { snapshot }), expected);
      assert.deepEqual(await entries(backend, 'agents', { snapshot, reverse: true }), [...expected].reverse());
    } finally {
      await snapshot.close();
    }
  });

  test('reads through a closed snapshot reject with STORAGE_FAILED', async (stores) => {
    const backend = await stores.opened();
    const snapshot = backend.snapshot();
    await snapshot.close();
    await storageFailure(() => backend.get('state', bytes('a'), { snapshot }));
    await storageFailure(() => backend.iterate('state', { snapshot }).next());
  });
}

function keyAndValueTests(test: Test): void {
  test('an empty value is stored as an empty value, not as a missing one', async (stores) => {
    const backend = await stores.opened();
    await backend.batch([put('state', 'empty', Buffer.alloc(0))]);
    assert.deepEqual(await backend.get('state', bytes('empty')), Buffer.alloc(0));
    assert.deepEqual(await collect(backend.iterate('state')), [[bytes('empty'), Buffer.alloc(0)]]);
  });

  test('a 1 MiB value round-trips byte for byte', async (stores) => {
    const backend = await stores.opened();
    const large = randomBytes(1024 * 1024);
    await backend.batch([put('backups', 'large', large)]);
    assert.deepEqual(await backend.get('backups', bytes('large')), large);
    const [[, iterated]] = await collect(backend.iterate('backups'));
    assert.deepEqual(iterated, large);
  });

  test('binary keys containing 0x00 and 0xff are stored, read and ordered bytewise', async (stores) => {
    const backend = await stores.opened();
    const ordered = [[0x00], [0x00, 0x00], [0x00, 0xff], [0x61, 0x00, 0x62], [0xff], [0xff, 0x00], [0xff, 0xff]];
    const expected = ordered.map((key): Entry => [Buffer.from(key), Buffer.from(`value of ${key}`)]);
    await backend.batch([...expected].reverse().map(([key, value]) => put('events', key, value)));
    await backend.batch([put('eventsByAgent', Buffer.from([0x00]), 'neighbour')]);
    assert.deepEqual(await collect(backend.iterate('events')), expected);
    for (const [key, value] of expected) assert.deepEqual(await backend.get('events', key), value);
    assert.equal(await text(backend, 'eventsByAgent', Buffer.from([0x00])), 'neighbour');
  });
}

function persistenceTests(test: Test): void {
  test('a new backend over the same location reads back every write made before close', async (stores) => {
    const first = await stores.opened();
    const large = randomBytes(1024 * 1024);
    await first.batch([put('state', 'a', 'v'), put('state', 'gone', 'v'), put('backups', 'large', large)]);
    await first.batch([del('state', 'gone'), put('events', Buffer.from([0x00, 0xff]), Buffer.alloc(0))]);
    const second = await stores.reopened(first);
    assert.deepEqual(await entries(second, 'state'), [['a', 'v']]);
    assert.deepEqual(await collect(second.iterate('events')), [[Buffer.from([0x00, 0xff]), Buffer.alloc(0)]]);
    assert.deepEqual(await second.get('backups', bytes('large')), large);
  });

  test('the same backend closed and opened again reads back every write made before close', async (stores) => {
    const backend = await stores.opened();
    await backend.batch([put('meta', 'a', 'v')]);
    await backend.close();
    await backend.open();
    assert.equal(await text(backend, 'meta', 'a'), 'v');
  });
}

function syncTests(test: Test): void {
  test('a batch written with sync: true is acknowledged and readable', async (stores) => {
    const backend = await stores.opened();
    await backend.batch([put('outbox', 'a', 'v'), del('outbox', 'b')], { sync: true });
    assert.equal(await text(backend, 'outbox', 'a'), 'v');
  });
}

function bytes(value: string | Buffer): Buffer {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}

function put(sublevel: SublevelName, key: string | Buffer, value: string | Buffer): BatchOp {
  return { type: 'put', sublevel, key: bytes(key), value: bytes(value) };
}

function del(sublevel: SublevelName, key: string | Buffer): BatchOp {
  return { type: 'del', sublevel, key: bytes(key) };
}

async function text(
  backend: StorageBackend,
  sublevel: SublevelName,
  key: string | Buffer,
): Promise<string | undefined> {
  return (await backend.get(sublevel, bytes(key)))?.toString('utf8');
}

async function collect(iterable: AsyncIterable<Entry>): Promise<Entry[]> {
  const result: Entry[] = [];
  for await (const entry of iterable) result.push(entry);
  return result;
}

async function entries(backend: StorageBackend, sublevel: SublevelName, range?: RangeOptions): Promise<string[][]> {
  const all = await collect(backend.iterate(sublevel, range));
  return all.map(([key, value]) => [key.toString('utf8'), value.toString('utf8')]);
}

async function keys(backend: StorageBackend, sublevel: SublevelName, range?: RangeOptions): Promise<string[]> {
  const all = await collect(backend.iterate(sublevel, range));
  return all.map(([key]) => key.toString('utf8'));
}
