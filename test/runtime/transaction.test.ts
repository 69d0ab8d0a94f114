import assert from 'node:assert/strict';
import { Scope } from '../../src/index.js';
import { storageOf } from '../../src/runtime.js';
import { rejection, describeEachStore, RuntimeFixture } from '../helpers.js';

describeEachStore('transactions', (store) => {
  let fixture: RuntimeFixture;
  beforeEach(() => {
    fixture = new RuntimeFixture('tx', store);
  });
  afterEach(() => fixture.dispose());
  const scope = Scope.agent('a1');

  it('commits every write of the callback, and resolves with its result', async () => {
    let rt = await fixture.open();
    await rt.state.set(scope, 'count', 41);
    await rt.state.set(scope, 'stale', true);
    const result = await rt.state.transaction(scope, async (tx) => {
      const count = (await tx.get('count')) as number;
      tx.set('count', count + 1);
      tx.set('note', { by: 'tx' });
      tx.delete('stale');
      assert.equal(await tx.get('count'), 42, 'a transaction reads its own writes');
      assert.equal(await tx.get('stale'), undefined);
      return 'ok';
    });
    assert.equal(result, 'ok');
    rt = await fixture.reopen(rt);
    assert.equal(await rt.state.get(scope, 'count'), 42);
    assert.deepEqual(await rt.state.get(scope, 'note'), { by: 'tx' });
    assert.equal(await rt.state.get(scope, 'stale'), undefined);
  });

  it('writes nothing when the callback throws, and rejects with what it threw', async () => {
    let rt = await fixture.open();
    await rt.state.set(scope, 'count', 1);
    const boom = new Error('boom');
    const error = await rejection(
      rt.state.transaction(scope, async (tx) => {
        tx.set('count', 2);
        tx.set('other', 'x');
        throw boom;
      }),
    );
    assert.equal(error, boom);
    assert.equal(await rt.state.get(scope, 'count'), 1);
    assert.equal(await rt.state.get(scope, 'other'), undefined);
    rt = await fixture.reopen(rt);
    assert.equal(await rt.state.get(scope, 'count'), 1);
    assert.deepEqual(await rt.state.listKeys(scope), ['count']);
  });

  it('writes nothing when the store fails the batch, and rejects with STORAGE_FAILED', async () => {
    let rt = await fixture.open();
    await rt.state.set(scope, 'a', 'before');
    const remove = storageOf(rt).intercept({
      beforeBatch(ops) {
        if (ops.some((op) => op.type === 'put' && op.sublevel === 'state')) throw new Error('disk on fire');
      },
    });
    const error = await rejection(
      rt.state.transaction(scope, (tx) => {
        tx.set('a', 'after');
        tx.set('b', 'new');
        tx.delete('a');
        tx.set('a', 'again');
      }),
    );
    remove();
    assert.equal(error.code, 'STORAGE_FAILED');
    assert.match(error.message, /disk on fire/);
    assert.equal(await rt.state.get(scope, 'a'), 'before');
    assert.equal(await rt.state.get(scope, 'b'), undefined);
    rt = await fixture.reopen(rt);
    assert.equal(await rt.state.get(scope, 'a'), 'before');
    assert.deepEqual(await rt.state.listKeys(scope), ['a']);
  });

  it('a store failure halfway through a real batch leaves no trace: the backend batch is atomic', async () => {
    let rt = await fixture.open();
    let calls = 0;
    const storage = storageOf(rt);
    const remove = storage.intercept({
      beforeBatch() {
        calls++;
        if (calls === 2) throw new Error('injected');
      },
    });
    await rt.state.set(scope, 'one', 1);
    const error = await rejection(
      rt.state.transaction(scope, (tx) => {
        for (let i = 0; i < 100; i++) tx.set(`many-${i}`, i);
      }),
    );
    remove();
    assert.equal(error.code, 'STORAGE_FAILED');
    rt = await fixture.reopen(rt);
    assert.deepEqual(await rt.state.listKeys(scope), ['one']);
  });

  it('an invalid write inside the callback rejects the whole transaction', async () => {
    const rt = await fixture.open();
    const error = await rejection(
      rt.state.transaction(scope, (tx) => {
        tx.set('fine', 1);
        tx.set('bad', () => 1);
      }),
    );
    assert.equal(error.code, 'VALUE_INVALID');
    assert.equal(await rt.state.get(scope, 'fine'), undefined);
  });

  it('other messages to the scope wait until the transaction finishes', async () => {
    const rt = await fixture.open();
    await rt.state.set(scope, 'n', 0);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const tx = rt.state.transaction(scope, async (t) => {
      const n = (await t.get('n')) as number;
      await gate;
      t.set('n', n + 10);
    });
    const read = rt.state.get(scope, 'n');
    const later = rt.state.set(scope, 'n', 100);
    release();
    await Promise.all([tx, later]);
    assert.equal(await read, 10, 'the read queued behind the transaction sees its result');
    assert.equal(await rt.state.get(scope, 'n'), 100);
  });

  it('calling rt.state on the same scope inside the callback is refused instead of deadlocking', async () => {
    const rt = await fixture.open();
    const error = await rejection(rt.state.transaction(scope, async () => rt.state.set(scope, 'k', 1)));
    assert.ok(error instanceof TypeError);
    assert.match(error.message, /wait for itself/);
    // Other scopes are fine from inside a transaction.
    await rt.state.transaction(scope, async (tx) => {
      await rt.state.set(Scope.agent('other'), 'k', 1);
      tx.set('k', 2);
    });
    assert.equal(await rt.state.get(Scope.agent('other'), 'k'), 1);
  });

  it('the tx handle cannot be used after the callback finished', async () => {
    const rt = await fixture.open();
    let leaked: { set(k: string, v: unknown): void } | undefined;
    await rt.state.transaction(scope, (tx) => {
      leaked = tx;
    });
    assert.throws(() => leaked!.set('k', 1), TypeError);
  });
});
