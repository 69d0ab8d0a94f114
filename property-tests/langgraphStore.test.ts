/**
 * LlmStateStore answers every batch as LangGraph's InMemoryStore does: random sequences of batches of
 * gets, puts, deletes, filtered and paged searches and namespace listings, on awkward labels and keys
 * (some long enough to be hashed), run on both and compared result for result (timestamps left out;
 * test/langgraph/storeReference.ts says what the reference absorbs).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Operation } from '@langchain/langgraph-checkpoint';
import { openStore } from '../test/langgraph/storeFixture.js';
import { comparable, ReferenceStore } from '../test/langgraph/storeReference.js';
import { runs } from './budget.js';

const LABELS = ['a', 'b', 'é', 'x/y', '🙂', 'λ'.repeat(70)];
// No `:` in keys: InMemoryStore joins namespace and key with it when it merges a batch's puts.
const KEYS = ['k', 'j', '', '..', '__p', 'ü', 'k'.repeat(300)];

const namespaceArb = fc.array(fc.constantFrom(...LABELS), { minLength: 1, maxLength: 3 });
const prefixArb = fc.array(fc.constantFrom(...LABELS), { maxLength: 2 });
const pathArb = fc.array(fc.constantFrom(...LABELS, '*'), { minLength: 1, maxLength: 2 });
const valueArb = fc.record(
  { n: fc.integer({ min: 0, max: 4 }), s: fc.constantFrom('x', 'y', '3'), flag: fc.boolean(), none: fc.constant(null) },
  { requiredKeys: [] },
);
const scalarArb = fc.oneof(fc.integer({ min: 0, max: 4 }), fc.constantFrom('x', 'y', '3', null), fc.boolean());
const conditionArb = fc.oneof(
  scalarArb,
  fc.record(
    { $eq: scalarArb, $ne: scalarArb, $gt: scalarArb, $gte: scalarArb, $lt: scalarArb, $lte: scalarArb, $in: fc.array(scalarArb, { maxLength: 2 }), $nin: fc.array(scalarArb, { maxLength: 2 }) },
    { requiredKeys: [] },
  ),
);
const filterArb = fc.option(fc.dictionary(fc.constantFrom('n', 's', 'flag', 'none', 'other'), conditionArb, { maxKeys: 2 }), { nil: undefined });

const operationArb: fc.Arbitrary<Operation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ namespace: namespaceArb, key: fc.constantFrom(...KEYS), value: valueArb }) },
  { weight: 1, arbitrary: fc.record({ namespace: namespaceArb, key: fc.constantFrom(...KEYS), value: fc.constant(null) }) },
  { weight: 2, arbitrary: fc.record({ namespace: namespaceArb, key: fc.constantFrom(...KEYS) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      namespacePrefix: prefixArb,
      filter: filterArb,
      limit: fc.integer({ min: 0, max: 6 }),
      offset: fc.integer({ min: 0, max: 4 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      matchConditions: fc.array(fc.record({ matchType: fc.constantFrom('prefix' as const, 'suffix' as const), path: pathArb }), { maxLength: 2 }),
      maxDepth: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
      limit: fc.integer({ min: 0, max: 6 }),
      offset: fc.integer({ min: 0, max: 3 }),
    }),
  },
);

describe('property: LangGraph store', () => {
  it('every batch gets the results InMemoryStore gives', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(operationArb, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 12 }), async (batches) => {
        const { store, rt } = await openStore();
        const reference = new ReferenceStore();
        try {
          for (const batch of batches) {
            const expected = comparable(await reference.batch(structuredClone(batch)));
            const actual = comparable(await store.batch(structuredClone(batch)));
            assert.deepEqual(actual, expected, `batch ${JSON.stringify(batch)}`);
          }
        } finally {
          await rt.close();
        }
      }),
      { numRuns: runs(60) },
    );
  });
});
