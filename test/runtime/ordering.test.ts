import assert from 'node:assert/strict';
import { Scope } from '../../src/index.js';
import { RuntimeFixture } from '../helpers.js';

describe('ordering', () => {
  let fixture: RuntimeFixture;
  beforeEach(() => {
    fixture = new RuntimeFixture('ordering');
  });
  afterEach(() => fixture.dispose());

  it('of 500 concurrent sets on one key, the last one issued wins, before and after reopening', async () => {
    let rt = await fixture.open();
    const scope = Scope.agent('a1');
    const writes = Array.from({ length: 500 }, (_, i) => rt.state.set(scope, 'counter', i));
    await Promise.all(writes);
    assert.equal(await rt.state.get(scope, 'counter'), 499);
    rt = await fixture.reopen(rt);
    assert.equal(await rt.state.get(scope, 'counter'), 499);
  });

  it('each set resolves in the order it was issued', async () => {
    const rt = await fixture.open();
    const scope = Scope.agent('a1');
    const order: number[] = [];
    await Promise.all(Array.from({ length: 200 }, (_, i) => rt.state.set(scope, `k${i % 7}`, i).then(() => order.push(i))));
    assert.deepEqual(order, Array.from({ length: 200 }, (_, i) => i));
  });

  it('a get issued after a set, without awaiting it, sees that set', async () => {
    const rt = await fixture.open();
    const scope = Scope.agent('a1');
    await rt.state.set(scope, 'k', 'old');
    const set = rt.state.set(scope, 'k', 'new');
    const get = rt.state.get(scope, 'k');
    const del = rt.state.delete(scope, 'k');
    const after = rt.state.get(scope, 'k');
    assert.deepEqual(await Promise.all([set, get, del, after]), [undefined, 'new', true, undefined]);
  });

  it('interleaved writers over 50 agents stay consistent, before and after reopening', async () => {
    let rt = await fixture.open();
    const expected = new Map<string, number>();
    const writers = Array.from({ length: 8 }, async (_, writer) => {
      for (let i = 0; i < 150; i++) {
        const agent = `agent-${(writer * 7 + i * 13) % 50}`;
        const key = `slot-${i % 5}`;
        const value = writer * 1000 + i;
        const pending = rt.state.set(Scope.agent(agent), key, value);
        expected.set(`${agent}/${key}`, value);
        if (i % 3 === 0) await pending;
      }
    });
    await Promise.all(writers);
    await rt.state.get(Scope.agent('agent-0'), 'slot-0');
    const check = async () => {
      for (const [path, value] of expected) {
        const [agent, key] = path.split('/');
        assert.equal(await rt.state.get(Scope.agent(agent), key), value, path);
      }
      for (let a = 0; a < 50; a++) {
        const keys = await rt.state.listKeys(Scope.agent(`agent-${a}`));
        assert.deepEqual(keys, [...expected.keys()].filter((p) => p.startsWith(`agent-${a}/`)).map((p) => p.split('/')[1]).sort());
      }
    };
    // Writes are issued in a known order per writer, but writers interleave; the model records the
    // issue order, which is the order the mailboxes see.
    await check();
    rt = await fixture.reopen(rt);
    await check();
  });

  it('concurrent writes to many scopes are merged into far fewer batches than writes', async () => {
    const rt = await fixture.open();
    await Promise.all(Array.from({ length: 1000 }, (_, i) => rt.state.set(Scope.agent(`a${i % 100}`), 'k', i)));
    const { commits } = rt.metrics();
    assert.equal(commits.units, 1000);
    assert.ok(commits.batches < 100, `expected group commit to merge writes, got ${commits.batches} batches`);
  });
});
