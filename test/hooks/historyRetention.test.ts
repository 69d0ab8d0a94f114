import assert from 'node:assert/strict';
import type { ExecutionMeta } from '../../src/hooks/executionRecord.js';
import { newExecutionId } from '../../src/hooks/executionRecord.js';
import { HookHistory, type HistoryRetention } from '../../src/hooks/HookHistory.js';
import { createMemoryBackend } from '../../src/storage/LevelBackend.js';
import type { StorageBackend } from '../../src/storage/index.js';

const DAY = 24 * 60 * 60 * 1000;
const POLICY: Required<HistoryRetention> = { maxAgeMs: DAY, maxCount: 100, maxBytes: 1 << 30 };

/** Counts full passes over the history: each reads every record. */
function countingScans(storage: StorageBackend): { scans: number } {
  const counter = { scans: 0 };
  const iterate = storage.iterate.bind(storage);
  storage.iterate = ((sublevel, options) => {
    if (sublevel === 'hookHistory' && options === undefined) counter.scans++;
    return iterate(sublevel, options);
  }) as StorageBackend['iterate'];
  return counter;
}

describe('hook history retention passes', () => {
  let storage: StorageBackend;
  let history: HookHistory;
  let seq = 0;

  async function record(startedAt: number, priority = 0): Promise<void> {
    seq++;
    const meta: Omit<ExecutionMeta, 'bytes'> = {
      executionId: newExecutionId(startedAt),
      hookName: 'h',
      correlationId: `${seq}.0`,
      correlationIds: [`${seq}.0`],
      causationId: `${seq}.0`,
      eventIds: [`${seq}.0`],
      attempt: 1,
      status: 'succeeded',
      startedAt,
      durationMs: 1,
      priority,
    };
    await storage.batch(history.recordOps(meta, '[]', '{}'));
  }

  beforeEach(async () => {
    storage = createMemoryBackend();
    await storage.open();
    history = new HookHistory(storage);
  });
  afterEach(() => storage.close());

  it('pruneIfDue reads the records once, then only when a limit is crossed', async () => {
    const scans = countingScans(storage);
    const now = Date.now();
    for (let i = 0; i < 50; i++) await record(now);
    assert.equal(await history.pruneIfDue(POLICY, now).then((result) => result?.removed), 0, 'the first pass counts');
    assert.equal(scans.scans, 1);
    for (let i = 0; i < 50; i++) await record(now);
    assert.equal(await history.pruneIfDue(POLICY, now), undefined, '100 records are within maxCount 100');
    assert.equal(scans.scans, 1, 'and were not read to find that out');

    await record(now);
    const trimmed = await history.pruneIfDue(POLICY, now);
    assert.deepEqual([trimmed?.removed, trimmed?.kept], [11, 90], 'over the limit, it trims to 90 % of it');
    assert.equal(scans.scans, 2);
    assert.equal(await history.pruneIfDue(POLICY, now), undefined);
    assert.equal(scans.scans, 2);
  });

  it('pruneIfDue runs once the oldest record of a priority is past its age, priority extending it', async () => {
    const start = Date.now();
    await record(start, 0);
    await record(start, 1);
    assert.equal((await history.pruneIfDue(POLICY, start))?.removed, 0);
    assert.equal(await history.pruneIfDue(POLICY, start + DAY), undefined, 'not yet past a day');
    const [first, second] = await sizes();
    assert.deepEqual(await history.pruneIfDue(POLICY, start + DAY + 1), { removed: 1, removedBytes: first, kept: 1, keptBytes: second });
    assert.equal(await history.pruneIfDue(POLICY, start + 2 * DAY), undefined, 'priority 1 keeps twice as long');
    assert.equal((await history.pruneIfDue(POLICY, start + 2 * DAY + 1))?.removed, 1);
  });

  it('counts what is recorded while a pass reads the records', async () => {
    const now = Date.now();
    const policy = { ...POLICY, maxCount: 10 };
    for (let i = 0; i < 12; i++) await record(now);
    const iterate = storage.iterate.bind(storage);
    let recordedDuringPass = false;
    storage.iterate = ((sublevel, options) => {
      const records = iterate(sublevel, options);
      if (sublevel !== 'hookHistory' || options !== undefined || recordedDuringPass) return records;
      recordedDuringPass = true;
      return (async function* () {
        // The pass's reading has begun (its snapshot is taken) before this record commits: it cannot see it.
        const first = await records.next();
        await record(now);
        if (first.done === true) return;
        yield first.value;
        yield* records;
      })();
    }) as StorageBackend['iterate'];
    assert.deepEqual(await history.pruneIfDue(policy, now).then((result) => [result?.removed, result?.kept]), [3, 9]);
    assert.ok(recordedDuringPass);
    assert.equal(await history.pruneIfDue(policy, now), undefined, '9 read and 1 recorded meanwhile: at the limit');
    await record(now);
    assert.deepEqual(await history.pruneIfDue(policy, now).then((result) => result?.kept), 9, 'one more is over it');
  });

  it('an explicit prune trims exactly to the limit', async () => {
    const now = Date.now();
    for (let i = 0; i < 12; i++) await record(now);
    const result = await history.prune({ ...POLICY, maxCount: 10 }, now);
    assert.deepEqual([result.removed, result.kept], [2, 10]);
  });

  /** Byte sizes of the stored records, oldest first. */
  async function sizes(): Promise<number[]> {
    const found: number[] = [];
    for await (const [, value] of storage.iterate('hookHistory', {})) found.push(value.length);
    return found;
  }
});
