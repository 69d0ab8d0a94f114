import assert from 'node:assert/strict';
import { Scope, type Runtime } from '../../src/index.js';
import { RuntimeFixture } from '../helpers.js';

/** Resolves after `turns` turns of the event loop, letting commits and evictions run in between. */
async function turns(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('liveness under memory pressure', () => {
  let rt: Runtime | undefined;
  let fixture: RuntimeFixture;
  beforeEach(() => {
    fixture = new RuntimeFixture('liveness');
  });
  afterEach(async () => {
    await fixture.dispose();
  });

  it('a delete queued on a cached key settles when eviction drops that cache before the flush', async () => {
    // On disk, B's batch is still in flight when A's delete becomes ready, so A's group waits for the flush.
    rt = await fixture.open({ memoryBudgetBytes: 20_000 });
    const a = Scope.agent('a');
    const b = Scope.agent('b');
    await rt.state.set(a, 'k', 'v');
    assert.equal(await rt.state.get(a, 'k'), 'v');
    // B's commit lands while A's delete waits for the flush, and its cache growth evicts A's cache.
    const big = rt.state.set(b, 'big', 'x'.repeat(10_000));
    await new Promise((resolve) => setImmediate(resolve));
    const deleted = rt.state.delete(a, 'k');
    await big;
    assert.equal(await deleted, true);
    assert.equal(await rt.state.get(a, 'k'), undefined);
  });

  it('deletes of cached and uncached keys settle while every commit evicts', async () => {
    rt = await fixture.open({ memoryBudgetBytes: 12_000 });
    const scopes = [Scope.agent('a'), Scope.agent('b'), Scope.agent('c')];
    for (const scope of scopes) for (let i = 0; i < 5; i++) await rt.state.set(scope, `k${i}`, i);
    const pending: Promise<unknown>[] = [];
    for (let round = 0; round < 20; round++) {
      for (const scope of scopes) {
        pending.push(rt.state.get(scope, `k${round % 5}`));
        pending.push(rt.state.set(scope, `pad${round % 3}`, 'y'.repeat(3_000)));
        pending.push(rt.state.delete(scope, `k${(round + 1) % 5}`));
        pending.push(rt.state.set(scope, `k${(round + 1) % 5}`, round));
      }
      await turns(round % 3);
    }
    await Promise.all(pending);
    // The last round deleted k0 and then set it again to 19.
    for (const scope of scopes) assert.equal(await rt.state.get(scope, 'k0'), 19);
  });
});
