import assert from 'node:assert/strict';
import { checkLinearizable } from '../../src/testing/linearizability.js';
import type { HistoryEntry } from '../../src/testing/history.js';

/** Builds entries tersely: `op('a', 'set', 'n', 1, [1, 2])`. */
let nextId = 0;
function entry(task: string, op: HistoryEntry['op'], fields: Partial<HistoryEntry>, [call, ret]: [number, number?]): HistoryEntry {
  return { id: nextId++, task, op, scope: 'global', outcome: ret === undefined ? 'unknown' : 'ok', call, ...(ret === undefined ? {} : { return: ret }), ...fields };
}
const set = (task: string, key: string, value: unknown, span: [number, number?]) => entry(task, 'set', { key, value }, span);
const get = (task: string, key: string, value: unknown, span: [number, number?]) => entry(task, 'get', { key, value }, span);

function assertNotLinearizable(history: HistoryEntry[]) {
  const result = checkLinearizable(history);
  assert.equal(result.ok, false, 'expected the history to be refused');
  return result as Extract<typeof result, { ok: false }>;
}

describe('checkLinearizable', () => {
  it('accepts a sequential history that a register explains', () => {
    const history = [set('a', 'n', 1, [1, 2]), get('a', 'n', 1, [3, 4]), set('b', 'n', { x: [1, 2] }, [5, 6]), get('b', 'n', { x: [1, 2] }, [7, 8])];
    assert.deepEqual(checkLinearizable(history), { ok: true });
  });

  it('refuses a read that returns a value older than a write that finished before it started', () => {
    const result = assertNotLinearizable([set('a', 'n', 1, [1, 2]), set('a', 'n', 2, [3, 4]), get('b', 'n', 1, [5, 6])]);
    assert.deepEqual(result.counterexample.map((one) => one.call), [1, 3, 5], 'both writes and the stale read');
    assert.equal(result.scope, 'global');
    assert.deepEqual(result.keys, ['n']);
    assert.match(result.message, /No order of these 3 calls on global "n"/);
    assert.match(result.message, /\[3–4\] a: set global "n" = 2/);
    assert.match(result.message, /\[5–6\] b: get global "n" → 1/);
  });

  it('accepts either value for a read that overlaps a write', () => {
    for (const seen of [undefined, 1]) {
      assert.deepEqual(checkLinearizable([set('a', 'n', 1, [1, 4]), get('b', 'n', seen, [2, 3])]), { ok: true }, `read ${seen}`);
    }
  });

  it('refuses a value that was never written, and an absent key that was written', () => {
    assertNotLinearizable([set('a', 'n', 1, [1, 2]), get('b', 'n', 7, [3, 4])]);
    assertNotLinearizable([set('a', 'n', 1, [1, 2]), get('b', 'n', undefined, [3, 4])]);
  });

  it('compares values as JSON, whatever the order of their keys', () => {
    assert.deepEqual(checkLinearizable([set('a', 'n', { a: 1, b: { c: 2, d: 3 } }, [1, 2]), get('b', 'n', { b: { d: 3, c: 2 }, a: 1 }, [3, 4])]), { ok: true });
  });

  it('finds an order that needs a later call to take effect first', () => {
    // b's write starts after a's but must take effect before it: the read at the end sees a's value.
    const history = [set('a', 'n', 1, [1, 10]), set('b', 'n', 2, [2, 3]), get('c', 'n', 2, [4, 5]), get('c', 'n', 1, [11, 12])];
    assert.deepEqual(checkLinearizable(history), { ok: true });
  });

  it('lets a write that never settled take effect late, or never', () => {
    const pending = set('a', 'n', 9, [1]);
    assert.deepEqual(checkLinearizable([pending, get('b', 'n', undefined, [2, 3]), get('b', 'n', 9, [4, 5]), get('b', 'n', 9, [6, 7])]), { ok: true });
    assert.deepEqual(checkLinearizable([pending, get('b', 'n', undefined, [2, 3])]), { ok: true });
    // Once seen, it cannot be unseen.
    assertNotLinearizable([pending, get('b', 'n', 9, [2, 3]), get('b', 'n', undefined, [4, 5])]);
  });

  it('treats a rejected write as one that left no trace', () => {
    const rejected: HistoryEntry = { ...set('a', 'n', 5, [1, 2]), outcome: 'failed', error: 'STORAGE_FAILED' };
    assert.deepEqual(checkLinearizable([rejected, get('b', 'n', undefined, [3, 4])]), { ok: true });
    const result = assertNotLinearizable([rejected, get('b', 'n', 5, [3, 4])]);
    assert.deepEqual(result.counterexample.map((one) => one.op), ['get'], 'the rejected write cannot explain the read');
  });

  it('checks what delete says about the key', () => {
    const del = (existed: boolean, span: [number, number]) => entry('a', 'delete', { key: 'n', existed }, span);
    assert.deepEqual(checkLinearizable([set('a', 'n', 1, [1, 2]), del(true, [3, 4]), del(false, [5, 6]), get('a', 'n', undefined, [7, 8])]), { ok: true });
    assertNotLinearizable([set('a', 'n', 1, [1, 2]), del(false, [3, 4])]);
    assertNotLinearizable([set('a', 'n', 1, [1, 2]), del(true, [3, 4]), get('a', 'n', 1, [5, 6])]);
  });

  it('checks clear and list against every key of the scope at one instant', () => {
    const clear = (count: number, span: [number, number]) => entry('a', 'clear', { count }, span);
    const list = (keys: string[], span: [number, number]) => entry('a', 'list', { key: '', keys }, span);
    const base = [set('a', 'x', 1, [1, 2]), set('a', 'y', 2, [3, 4])];
    assert.deepEqual(checkLinearizable([...base, list(['y', 'x'], [5, 6]), clear(2, [7, 8]), list([], [9, 10]), get('b', 'x', undefined, [11, 12])]), { ok: true });
    assertNotLinearizable([...base, clear(1, [5, 6])]);
    assertNotLinearizable([...base, list(['x'], [5, 6])]);
    assertNotLinearizable([...base, clear(2, [5, 6]), get('b', 'y', 2, [7, 8])]);
    // A list by prefix sees only its keys.
    assert.deepEqual(checkLinearizable([...base, set('a', 'xa', 3, [5, 6]), entry('a', 'list', { key: 'x', keys: ['x', 'xa'] }, [7, 8])]), { ok: true });
  });

  it('checks that a transaction read and wrote at one instant', () => {
    const increment = (task: string, seen: number | undefined, span: [number, number]) =>
      entry(task, 'transaction', { reads: { n: seen }, writes: [{ key: 'n', value: (seen ?? 0) + 1 }] }, span);
    // Serial increments explain a final 2; two that both saw nothing are a lost update.
    assert.deepEqual(checkLinearizable([increment('a', undefined, [1, 4]), increment('b', 1, [2, 5]), get('c', 'n', 2, [6, 7])]), { ok: true });
    const lost = assertNotLinearizable([increment('a', undefined, [1, 4]), increment('b', undefined, [2, 5])]);
    assert.equal(lost.counterexample.length, 2);
    assert.match(lost.message, /transaction global reads \{"n"=none\} writes \{"n"=1\}/);
    // A transaction's writes over two keys are seen together or not at all.
    const both = entry('a', 'transaction', { reads: {}, writes: [{ key: 'x', value: 1 }, { key: 'y', value: 1 }] }, [1, 4]);
    assert.deepEqual(checkLinearizable([both, get('b', 'x', 1, [2, 3]), get('b', 'y', 1, [5, 6])]), { ok: true });
    const torn = entry('a', 'transaction', { reads: {}, writes: [{ key: 'x', value: 1 }, { key: 'y', value: 1 }] }, [1, 6]);
    assert.deepEqual(checkLinearizable([torn, get('b', 'x', 1, [2, 3]), get('b', 'y', undefined, [2, 3])]), { ok: true }, 'the two reads overlap');
    assertNotLinearizable([torn, get('b', 'x', 1, [2, 3]), get('b', 'y', undefined, [4, 5])]);
    assert.deepEqual(checkLinearizable([entry('a', 'transaction', { reads: {}, writes: [{ key: 'x', value: 1 }, { key: 'x', deleted: true }] }, [1, 2]), get('b', 'x', undefined, [3, 4])]), { ok: true });
  });

  it('checks keys and scopes apart, and names the one that fails', () => {
    const other = (fields: Partial<HistoryEntry>, span: [number, number]) => ({ ...entry('a', 'get', fields, span), scope: 'agent:a1' });
    const history = [set('a', 'n', 1, [1, 2]), { ...set('a', 'n', 1, [3, 4]), scope: 'agent:a1' }, get('b', 'n', 1, [5, 6]), other({ key: 'n', value: undefined }, [7, 8])];
    const result = assertNotLinearizable(history);
    assert.equal(result.scope, 'agent:a1');
    assert.equal(result.counterexample.length, 2);
  });

  it('returns a counterexample from which no entry can be removed, but for the writes its reads saw', () => {
    const history = [
      set('a', 'n', 1, [1, 2]),
      get('b', 'n', 1, [3, 9]),
      set('c', 'n', 2, [4, 5]),
      get('a', 'n', 2, [6, 7]),
      set('b', 'm', 3, [8, 10]),
      get('a', 'n', 1, [11, 12]),
      get('c', 'm', 3, [13, 14]),
    ];
    const result = assertNotLinearizable(history);
    assert.deepEqual(result.counterexample.map((one) => one.call), [1, 4, 11], 'the two writes of n and the stale read');
    for (const left of result.counterexample) {
      const rest = result.counterexample.filter((one) => one !== left);
      const unwritten = rest.some((one) => one.op === 'get' && !rest.some((other) => other.op === 'set' && other.value === one.value));
      assert.ok(unwritten || checkLinearizable(rest).ok, `still refused without entry ${left.id}, and every read's value is written`);
    }
  });

  it('refuses malformed entries with a TypeError naming the entry', () => {
    const good = set('a', 'n', 1, [1, 2]);
    assert.throws(() => checkLinearizable('x' as never), /Expected the history to be an array/);
    assert.throws(() => checkLinearizable([{ ...good, op: 'put' as never }]), /`op` must be one of get, set, delete, clear, list, transaction, got "put"/);
    assert.throws(() => checkLinearizable([{ ...good, key: undefined }]), /a set needs its `key`/);
    assert.throws(() => checkLinearizable([{ ...good, outcome: 'done' as never }]), /`outcome` must be ok, failed or unknown/);
    assert.throws(() => checkLinearizable([{ ...good, return: 0 }]), new RegExp(`History entry ${good.id}: a settled call needs a \`return\``));
    assert.throws(() => checkLinearizable([{ ...good, call: Number.NaN }]), /`call` must be a finite number/);
    assert.throws(() => checkLinearizable([good], { maxSteps: 0 }), /`maxSteps` to be a positive integer/);
  });

  it('gives up with a RangeError when the search would take more than maxSteps', () => {
    // Many overlapping writes and a read that no order explains: the search must try them all.
    const history = [...Array.from({ length: 12 }, (_, index) => set(`t${index}`, 'n', index, [1 + index, 100])), get('z', 'n', 99, [101, 102])];
    assert.throws(() => checkLinearizable(history, { maxSteps: 1_000 }), (error: unknown) => error instanceof RangeError && /too many overlapping calls on global/.test(error.message));
    assert.equal(checkLinearizable(history).ok, false);
  });
});
