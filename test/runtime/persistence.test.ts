import assert from 'node:assert/strict';
import { Scope } from '../../src/index.js';
import { oneScopeOfEachKind, describeEachStore, RuntimeFixture } from '../helpers.js';

describeEachStore('persistence across restart', (store) => {
  let fixture: RuntimeFixture;
  beforeEach(() => {
    fixture = new RuntimeFixture('persist', store);
  });
  afterEach(() => fixture.dispose());

  it('every acknowledged value of every scope kind is there after reopening', async () => {
    let rt = await fixture.open();
    const written = new Map<string, unknown>();
    for (const scope of oneScopeOfEachKind()) {
      const value = { scope: scope.toString(), nested: { list: [1, 'two', null, true], n: 1.5 } };
      await rt.state.set(scope, 'profile', value);
      written.set(scope.toString(), value);
    }
    rt = await fixture.reopen(rt);
    for (const scope of oneScopeOfEachKind()) {
      assert.deepEqual(await rt.state.get(scope, 'profile'), written.get(scope.toString()));
      assert.deepEqual(await rt.state.listKeys(scope), ['profile']);
    }
  });

  it('deletes stay deleted after reopening, for every scope kind', async () => {
    let rt = await fixture.open();
    for (const scope of oneScopeOfEachKind()) {
      await rt.state.set(scope, 'keep', 1);
      await rt.state.set(scope, 'drop', 2);
      assert.equal(await rt.state.delete(scope, 'drop'), true);
    }
    rt = await fixture.reopen(rt);
    for (const scope of oneScopeOfEachKind()) {
      assert.equal(await rt.state.get(scope, 'drop'), undefined);
      assert.equal(await rt.state.get(scope, 'keep'), 1);
      assert.equal(await rt.state.delete(scope, 'drop'), false);
    }
  });

  it('a cleared scope stays empty after reopening, and other scopes keep their keys', async () => {
    let rt = await fixture.open();
    for (const scope of oneScopeOfEachKind()) {
      for (let i = 0; i < 5; i++) await rt.state.set(scope, `k${i}`, i);
    }
    assert.equal(await rt.state.clearScope(Scope.workflow('w1')), 5);
    assert.equal(await rt.state.clearScope(Scope.session('s1')), 5);
    rt = await fixture.reopen(rt);
    for (const scope of oneScopeOfEachKind()) {
      const cleared = scope.kind === 'workflow' || scope.kind === 'session';
      assert.deepEqual(await rt.state.listKeys(scope), cleared ? [] : ['k0', 'k1', 'k2', 'k3', 'k4'], scope.toString());
    }
    // The step w1/fetch is its own scope: clearing workflow w1 does not touch it.
    assert.equal(await rt.state.get(Scope.step('w1', 'fetch'), 'k3'), 3);
  });

  it('the last of several writes to a key is what comes back', async () => {
    let rt = await fixture.open();
    const scope = Scope.agent('a1');
    await Promise.all([rt.state.set(scope, 'k', 'first'), rt.state.set(scope, 'k', 'second'), rt.state.set(scope, 'k', 'third')]);
    rt = await fixture.reopen(rt);
    assert.equal(await rt.state.get(scope, 'k'), 'third');
  });

  it('keys that differ only in Unicode normalisation are the same key', async () => {
    let rt = await fixture.open();
    const scope = Scope.agent('café');
    await rt.state.set(scope, 'cafe\u0301', 'decomposed');
    rt = await fixture.reopen(rt);
    assert.equal(await rt.state.get(Scope.agent('cafe\u0301'), 'caf\u00e9'), 'decomposed');
    assert.deepEqual(await rt.state.listKeys(scope), ['caf\u00e9']);
  });

  it('listKeys returns keys in code point order and filters by prefix', async () => {
    let rt = await fixture.open();
    const scope = Scope.global();
    for (const key of ['cfg.b', 'cfg.a', 'z', 'é', '中', '😀', 'cfg', 'cfg.a.x', 'A']) await rt.state.set(scope, key, key);
    rt = await fixture.reopen(rt);
    assert.deepEqual(await rt.state.listKeys(scope), ['A', 'cfg', 'cfg.a', 'cfg.a.x', 'cfg.b', 'z', 'é', '中', '😀']);
    assert.deepEqual(await rt.state.listKeys(scope, { prefix: 'cfg.' }), ['cfg.a', 'cfg.a.x', 'cfg.b']);
    assert.deepEqual(await rt.state.listKeys(scope, { prefix: 'nothing' }), []);
  });

  it('values come back equal to a JSON round trip of what was written, and deeply frozen', async () => {
    let rt = await fixture.open();
    const scope = Scope.agent('a1');
    const value = { text: 'héllo 😀', n: -0, big: 1e300, arr: [[], {}], nul: null, proto: JSON.parse('{"__proto__": {"polluted": true}}') };
    await rt.state.set(scope, 'v', value);
    rt = await fixture.reopen(rt);
    const read = (await rt.state.get(scope, 'v')) as Record<string, unknown>;
    assert.deepStrictEqual(read, JSON.parse(JSON.stringify(value)));
    assert.ok(Object.isFrozen(read) && Object.isFrozen(read.arr) && Object.isFrozen((read.arr as unknown[])[0]));
    assert.throws(() => {
      (read as { text: string }).text = 'changed';
    }, TypeError);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(await rt.state.get(scope, 'v').then((v) => (v as { text: string }).text), 'héllo 😀');
  });

  it('a value is copied at set time: mutating the caller’s object afterwards changes nothing stored', async () => {
    const rt = await fixture.open();
    const scope = Scope.agent('a1');
    const value = { list: [1, 2] };
    const pending = rt.state.set(scope, 'v', value);
    value.list.push(3);
    await pending;
    assert.deepEqual(await rt.state.get(scope, 'v'), { list: [1, 2] });
  });

  it('the commit sequence continues from where it was after reopening', async () => {
    let rt = await fixture.open();
    for (let i = 0; i < 5; i++) await rt.state.set(Scope.agent('a1'), `k${i}`, i);
    const before = rt.metrics().commits.seq;
    assert.equal(before, 5);
    rt = await fixture.reopen(rt);
    assert.equal(rt.metrics().commits.seq, before);
    await rt.state.set(Scope.agent('a1'), 'next', true);
    assert.equal(rt.metrics().commits.seq, before + 1);
  });
});
