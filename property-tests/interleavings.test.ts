/**
 * Racing sets, deletes and gets on a few scopes, under the public simulator (`llmstate/testing`): each
 * operation is its own task, so the scheduler decides when each reaches its scope's mailbox, when each
 * read and batch of the store goes ahead, and which batches fail.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { HistoryEntry } from '../src/testing/history.js';
import { checkLinearizable, simulate } from '../src/testing/index.js';
import { runs } from './budget.js';
import { key, KEYS, scopeIndex, SCOPES, StoreModel } from './stateModel.js';

type Op = { op: 'set'; scope: number; key: string; value: number } | { op: 'get'; scope: number; key: string } | { op: 'delete'; scope: number; key: string };

/** Built once, outside the body: `sim.draw` shrinks well only when it is given the same arbitrary each run. */
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('set' as const), scope: scopeIndex, key, value: fc.nat(1000) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('get' as const), scope: scopeIndex, key }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), scope: scopeIndex, key }) },
);

const ops = fc.array(op, { minLength: 1, maxLength: 40 });

/**
 * The default options; and a budget so small that every commit evicts caches and passivates actors, with
 * an idle sweep that passivates whatever it finds idle: eviction and passivation then interleave with
 * every kind of operation, and every operation must still settle.
 */
const CONFIGURATIONS = [
  { name: 'default options', options: {}, runs: 150 },
  // Four or five live actors fill this budget. It found a delete stranded by eviction in 3 of 3 sweeps of 400 runs.
  { name: 'a tiny memory budget and idleMs', options: { memoryBudgetBytes: 18_000, idleMs: 1 }, runs: 400 },
];

/**
 * Replays the history per scope, in the order the calls reached the scope's mailbox, against a model
 * that applies only the writes that were acknowledged: FIFO per scope (DESIGN invariant 1) says each
 * result must match. A write that failed must have failed with STORAGE_FAILED, and left no trace.
 */
function checkFifoPerScope(history: readonly HistoryEntry[]): void {
  const model = new StoreModel();
  const scopeOf = (name: string) => SCOPES.findIndex((scope) => scope.toString() === name);
  for (const entry of [...history].sort((a, b) => a.call - b.call)) {
    const scope = scopeOf(entry.scope);
    const where = `${entry.op} ${entry.scope} ${entry.key} (entry ${entry.id})`;
    assert.notEqual(entry.outcome, 'unknown', `${where} never settled`);
    if (entry.outcome === 'failed') {
      assert.equal(entry.op === 'get' ? 'a get' : entry.error, entry.op === 'get' ? 'never fails' : 'STORAGE_FAILED', where);
      continue;
    }
    if (entry.op === 'set') model.set(scope, entry.key!, entry.value);
    else if (entry.op === 'delete') assert.equal(entry.existed, model.delete(scope, entry.key!), where);
    else assert.deepStrictEqual(entry.value, model.get(scope, entry.key!), where);
  }
}

describe('interleavings (the simulator of llmstate/testing)', function () {
  this.timeout(600_000);

  for (const { name, options, runs: defaultRuns } of CONFIGURATIONS) {
    it(`racing sets, deletes and gets are explained by FIFO per scope, and no get sees a write that failed (${name})`, async () => {
      await simulate.assert(
        async (sim) => {
          await Promise.all(
            sim.draw(ops).map((o, index) =>
              sim.spawn(async () => {
                const scope = SCOPES[o.scope];
                const pending = o.op === 'set' ? sim.rt.state.set(scope, o.key, o.value) : o.op === 'get' ? sim.rt.state.get(scope, o.key) : sim.rt.state.delete(scope, o.key);
                // Failures are judged from the history, below.
                await pending.catch(() => undefined);
              }, `op ${index}`),
            ),
          );
          // The store ends as the history says: read every key back, as part of the history.
          for (const scope of SCOPES) for (const k of KEYS) await sim.rt.state.get(scope, k);
          checkFifoPerScope(sim.history);
          const linearizable = checkLinearizable(sim.history);
          sim.check(linearizable.ok, linearizable.ok ? '' : linearizable.message);
        },
        { runs: runs(defaultRuns), faults: { storage: 0.15 }, runtime: options },
      );
    });
  }
});
