import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createRuntime } from '../src/index.js';
import { storageOf } from '../src/runtime.js';
import { runs } from './budget.js';
import { key, scopeIndex, SCOPES, StoreModel } from './stateModel.js';

type Op =
  | { op: 'set'; scope: number; key: string; value: number | 'poison' }
  | { op: 'get'; scope: number; key: string }
  | { op: 'delete'; scope: number; key: string };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('set' as const), scope: scopeIndex, key, value: fc.nat(1000) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('set' as const), scope: scopeIndex, key, value: fc.constant('poison' as const) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('get' as const), scope: scopeIndex, key }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), scope: scopeIndex, key }) },
);

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

describe('interleavings (fc.scheduler)', function () {
  this.timeout(600_000);

  it('racing sets, deletes and gets are explained by FIFO per scope, and no get sees a write that failed', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(op, { minLength: 1, maxLength: 40 }), async (s, ops) => {
        const rt = await createRuntime({ memory: true });
        try {
          // The store fails any batch holding a poisoned value, and the scheduler decides when each
          // batch completes, so operations are also issued while batches are in flight.
          storageOf(rt).intercept({
            async beforeBatch(batch) {
              await s.schedule(Promise.resolve(), 'batch');
              if (batch.some((b) => b.type === 'put' && b.sublevel === 'state' && b.value.includes('"poison"'))) {
                throw new Error('poisoned batch');
              }
            },
          });
          const issued: number[] = [];
          const outcomes: Outcome[] = new Array(ops.length);
          const all = ops.map((o, i) =>
            s.schedule(Promise.resolve(), `issue ${i}`).then(() => {
              issued.push(i);
              const scope = SCOPES[o.scope];
              const pending = o.op === 'set' ? rt.state.set(scope, o.key, o.value) : o.op === 'get' ? rt.state.get(scope, o.key) : rt.state.delete(scope, o.key);
              return pending.then(
                (value) => (outcomes[i] = { ok: true, value }),
                (error) => (outcomes[i] = { ok: false, error }),
              );
            }),
          );
          await s.waitFor(Promise.all(all));

          // Replay in issue order, per scope, applying only the writes that were acknowledged.
          const model = new StoreModel();
          for (const i of issued) {
            const o = ops[i];
            const outcome = outcomes[i];
            if (o.op === 'set') {
              if (o.value === 'poison') assert.equal(outcome.ok, false, `poisoned set ${i} must fail`);
              if (outcome.ok) model.set(o.scope, o.key, o.value);
              else assert.equal((outcome.error as { code?: string }).code, 'STORAGE_FAILED');
            } else if (o.op === 'delete') {
              if (outcome.ok) assert.equal(outcome.value, model.delete(o.scope, o.key), `delete ${i}`);
              else assert.equal((outcome.error as { code?: string }).code, 'STORAGE_FAILED');
            } else {
              assert.ok(outcome.ok, `get ${i} failed`);
              assert.deepStrictEqual(outcome.value, model.get(o.scope, o.key), `get ${i} of ${SCOPES[o.scope]}/${o.key}`);
            }
          }
          // And the store ends exactly as the model.
          for (let scope = 0; scope < SCOPES.length; scope++) {
            for (const k of ['a', 'b', 'a/b', 'é', 'k.1', '中']) {
              assert.deepStrictEqual(await rt.state.get(SCOPES[scope], k), model.get(scope, k));
            }
          }
        } finally {
          await s.waitIdle();
          await rt.close();
        }
      }),
      { numRuns: runs(150) },
    );
  });
});
