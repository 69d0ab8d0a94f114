import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRuntime, Scope, type KindStats, type Runtime, type StoreStats } from '../../src/index.js';
import { ManualClock, rejection, RuntimeFixture } from '../helpers.js';

const NONE: KindStats = { scopes: 0, keys: 0, valueBytes: 0 };

describe('rt.stats()', () => {
  describe('in memory', () => {
    let rt: Runtime;
    const clock = new ManualClock(1_700_000_000_000);
    beforeEach(async () => {
      rt = await createRuntime({ memory: true, clock });
    });
    afterEach(() => rt.close());

    it('a new store: its format and creation time, and nothing counted', async () => {
      const stats = await rt.stats();
      assert.deepEqual(stats, {
        storeFormat: 1,
        createdAt: 1_700_000_000_000,
        lastCommitSeq: 0,
        kinds: { global: NONE, agent: NONE, workflow: NONE, step: NONE, session: NONE, custom: NONE },
        total: NONE,
        unrecognisedKeys: 0,
        eventLogRecords: 0,
        sizeOnDisk: 0,
      } satisfies StoreStats);
    });

    it('counts scopes, keys and value bytes per kind, and one log record per commit', async () => {
      await rt.state.set(Scope.agent('a1'), 'k1', 'x');
      await rt.state.set(Scope.agent('a1'), 'k2', { n: 1 });
      await rt.state.set(Scope.agent('a2'), 'k1', [1, 2, 3]);
      await rt.state.set(Scope.step('w1', 'fetch'), 'out', 'done');
      await rt.state.set(Scope.global(), 'cfg', true);
      await rt.state.delete(Scope.agent('a2'), 'k1');

      const stats = await rt.stats();
      assert.deepEqual(
        { agent: stats.kinds.agent.scopes, step: stats.kinds.step.scopes, global: stats.kinds.global.scopes, workflow: stats.kinds.workflow.scopes },
        { agent: 1, step: 1, global: 1, workflow: 0 },
        'a scope whose only key was deleted holds nothing',
      );
      assert.deepEqual([stats.kinds.agent.keys, stats.kinds.step.keys, stats.kinds.global.keys], [2, 1, 1]);
      // Each value record is an 18-byte envelope header and the value's JSON text.
      assert.equal(stats.kinds.agent.valueBytes, 18 + '"x"'.length + 18 + '{"n":1}'.length);
      assert.equal(stats.kinds.global.valueBytes, 18 + 'true'.length);
      assert.deepEqual(stats.total, { scopes: 3, keys: 4, valueBytes: stats.kinds.agent.valueBytes + stats.kinds.step.valueBytes + stats.kinds.global.valueBytes });
      assert.equal(stats.lastCommitSeq, 6, 'one commit per write, the delete included');
      assert.equal(stats.eventLogRecords, 6);
      assert.deepEqual(JSON.parse(JSON.stringify(stats)), stats, 'plain JSON data');
    });

    it('the last commit sequence survives the retention that removes the log records', async () => {
      for (let i = 0; i < 5; i++) await rt.state.set(Scope.agent('a1'), `k${i}`, i);
      await rt.events.prune({ maxCount: 1 });
      const stats = await rt.stats();
      assert.equal(stats.eventLogRecords, 1);
      assert.equal(stats.lastCommitSeq, 5);
    });
  });

  describe('on disk', () => {
    let fixture: RuntimeFixture;
    beforeEach(() => {
      fixture = new RuntimeFixture('stats');
    });
    afterEach(() => fixture.dispose());

    it('measures the data directory, and keeps the creation time across reopens', async () => {
      const rt = await fixture.open({ clock: new ManualClock(1_700_000_000_000) });
      // Random text, which LevelDB's compression cannot shrink much.
      await rt.state.set(Scope.agent('a1'), 'blob', randomBytes(75_000).toString('base64'));
      const reopened = await fixture.reopen(rt, { clock: new ManualClock(1_800_000_000_000) });
      const stats = await reopened.stats();
      assert.equal(stats.createdAt, 1_700_000_000_000);
      assert.ok(stats.sizeOnDisk > 75_000, `the value is on disk: ${stats.sizeOnDisk} bytes`);
      assert.equal(stats.kinds.agent.keys, 1);
      assert.equal(stats.lastCommitSeq, 1);
    });
  });
});
