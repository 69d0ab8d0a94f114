/**
 * Migration steps (issue 14, item 4) on random records: records whose keys are few, so that steps often
 * find their fields, and awkward (`__proto__`, `constructor`, a key holding a dot), so that the paths
 * and the copies are tested where they are easiest to get wrong.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { deepFreeze } from '../src/state/values.js';
import { StepFailure, applySteps, fieldPath, stepFromJson, stepToJson, steps, type MigrationStep } from '../src/schema/steps.js';
import { runs } from './budget.js';

const { renameField, addField, removeField, convert, split, merge, custom } = steps;

const KEYS = ['a', 'b', 'name', '__proto__', 'constructor', 'x.y'] as const;
const keyArb = fc.constantFrom(...KEYS);
const scalarArb = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: -1000, max: 1000 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ maxLength: 8 }),
  fc.constantFrom('1', '-2.5', '1e3', 'true', 'false', '0x1f', '', 'a b c'),
);

/** JSON data whose objects are built with Object.fromEntries, which defines `__proto__` as an own key, as JSON.parse does. */
const { record: recordArb, value: valueArb } = fc.letrec<{ value: unknown; array: unknown[]; record: Record<string, unknown> }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalarArb, tie('array'), tie('record')),
  array: fc.array(tie('value'), { maxLength: 3 }),
  record: fc.array(fc.tuple(keyArb, tie('value')), { maxLength: 5 }).map((entries) => Object.fromEntries(entries)),
}));

const keysArb = fc.array(keyArb, { minLength: 1, maxLength: 3 });
const pathArb = keysArb.map((keys) => fieldPath(...keys));
const separatorArb = fc.oneof(fc.constantFrom(' ', ',', ', ', '.', 'ab'), fc.string({ minLength: 1, maxLength: 3 }));

/** A step from the builders, or null when the builder refuses the arguments drawn. */
function built(make: () => MigrationStep): MigrationStep | null {
  try {
    return make();
  } catch (err) {
    if (err instanceof TypeError) return null;
    throw err;
  }
}

const stepArb: fc.Arbitrary<MigrationStep> = fc
  .oneof(
    fc.tuple(pathArb, pathArb).map(([from, to]) => built(() => renameField(from, to))),
    fc.tuple(pathArb, valueArb).map(([path, value]) => built(() => addField(path, value as never))),
    pathArb.map((path) => built(() => removeField(path))),
    fc.tuple(pathArb, fc.constantFrom('number', 'string', 'boolean') as fc.Arbitrary<'number' | 'string' | 'boolean'>).map(([path, to]) => built(() => convert(path, to))),
    fc.tuple(pathArb, fc.array(pathArb, { minLength: 1, maxLength: 3 }), separatorArb).map(([path, into, separator]) => built(() => split(path, into, { separator }))),
    fc.tuple(fc.array(pathArb, { minLength: 1, maxLength: 3 }), pathArb, separatorArb).map(([from, into, separator]) => built(() => merge(from, into, { separator }))),
    fc.constantFrom(
      custom((record) => record, 'same'),
      custom((record) => ({ inner: record }), 'wrap'),
      custom((record) => (typeof record === 'object' && record !== null && !Array.isArray(record) ? { ...record, added: [1] } : record), 'spread'),
    ),
  )
  .filter((step): step is MigrationStep => step !== null);

/** The result of the steps, or the failure's index, step, path and reason. */
function outcome(record: unknown, stepList: readonly MigrationStep[]): unknown {
  try {
    return { result: applySteps(record, stepList) };
  } catch (err) {
    if (!(err instanceof StepFailure)) throw err;
    return { failure: { stepIndex: err.stepIndex, step: err.step, path: err.path, reason: err.reason } };
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value at `keys` in `record`, by own keys, or undefined. */
function valueAt(record: unknown, keys: readonly string[]): unknown {
  let node = record;
  for (const key of keys) {
    if (!isObject(node) || !Object.hasOwn(node, key)) return undefined;
    node = node[key];
  }
  return node;
}

/** The keys of every field of `record`, nested ones too, down to three levels. */
function fieldsOf(record: unknown, prefix: string[] = []): string[][] {
  if (!isObject(record) || prefix.length === 3) return [];
  return Object.keys(record).flatMap((key) => [[...prefix, key], ...fieldsOf(record[key], [...prefix, key])]);
}

/** A record and the keys of a field: mostly one it has, so that a rename usually has something to move. */
const recordWithFieldArb = recordArb.chain((record) => {
  const fields = fieldsOf(record);
  const keys = fields.length === 0 ? keysArb : fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...fields) }, { weight: 1, arbitrary: keysArb });
  return fc.tuple(fc.constant(record), keys);
});

function isWithin(keys: readonly string[], outer: readonly string[]): boolean {
  return outer.length <= keys.length && outer.every((key, i) => keys[i] === key);
}

describe('migration steps (property)', () => {
  it('applySteps never changes its input, frozen or not, whether the steps succeed or fail', () => {
    fc.assert(
      fc.property(recordArb, fc.array(stepArb, { maxLength: 5 }), fc.boolean(), (record, stepList, frozen) => {
        const before = JSON.stringify(record);
        if (frozen) deepFreeze(record);
        outcome(record, stepList);
        assert.equal(JSON.stringify(record), before);
      }),
      { numRuns: runs(300) },
    );
  });

  it('every result is JSON data that reads back equal, and leaves Object.prototype alone', () => {
    fc.assert(
      fc.property(recordArb, fc.array(stepArb, { maxLength: 5 }), (record, stepList) => {
        const got = outcome(record, stepList) as { result?: unknown };
        if ('result' in got) assert.deepEqual(JSON.parse(JSON.stringify(got.result)), got.result);
        for (const key of ['a', 'b', 'name', 'x.y', 'inner', 'added']) assert.equal(Object.hasOwn(Object.prototype, key), false, key);
        assert.equal(Object.getPrototypeOf(Object.prototype), null);
      }),
      { numRuns: runs(300) },
    );
  });

  it('rename then rename back is the identity on records that lack the target and have its parent objects', () => {
    fc.assert(
      fc.property(recordWithFieldArb, keysArb, ([record, from], to) => {
        fc.pre(!isWithin(from, to) && !isWithin(to, from));
        fc.pre(valueAt(record, to) === undefined && isObject(valueAt(record, to.slice(0, -1))));
        const there = outcome(record, [renameField(fieldPath(...from), fieldPath(...to))]) as { result?: unknown };
        // A path through a value that is not an object fails, as it must; only successes go back.
        if (!('result' in there)) return;
        const back = applySteps(there.result, [renameField(fieldPath(...to), fieldPath(...from))]);
        // As JSON text holds it: a step's result is JSON data, in which -0 is 0, as when it is stored.
        assert.deepEqual(back, JSON.parse(JSON.stringify(record)));
      }),
      { numRuns: runs(500) },
    );
  });

  it('converting a number to a string and back gives the same number', () => {
    fc.assert(
      fc.property(fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), fc.maxSafeInteger()), (n) => {
        const result = applySteps({ v: n }, [convert('v', 'string'), convert('v', 'number')]) as { v: number };
        // JSON has no -0: both read back as 0.
        assert.ok(result.v === n, `${n} came back as ${result.v}`);
      }),
      { numRuns: runs(1000) },
    );
  });

  it('split then merge with the same separator gives back the string', () => {
    const textArb = fc.oneof(fc.string({ maxLength: 20 }), fc.array(fc.constantFrom('a', ' ', ',', ', ', 'ab', '.', 'é', '\u{1F600}'), { maxLength: 10 }).map((parts) => parts.join('')));
    fc.assert(
      fc.property(textArb, separatorArb, fc.integer({ min: 1, max: 4 }), fc.boolean(), (text, separator, count, reuse) => {
        const into = Array.from({ length: count }, (_, i) => (reuse && i === 0 ? 'text' : `part${i}`));
        const stepList = [split('text', into, { separator }), merge(into, 'text', { separator })];
        assert.deepEqual(applySteps({ text, other: 1 }, stepList), { text, other: 1 });
      }),
      { numRuns: runs(1000) },
    );
  });

  it('steps read back from their stored form do what the originals do', () => {
    const storableArb = stepArb.filter((step) => step.op !== 'custom');
    fc.assert(
      fc.property(recordArb, fc.array(storableArb, { maxLength: 5 }), (record, stepList) => {
        const readBack = stepList.map((step) => stepFromJson(JSON.parse(JSON.stringify(stepToJson(step))))) as MigrationStep[];
        assert.deepEqual(outcome(record, readBack), outcome(record, stepList));
      }),
      { numRuns: runs(300) },
    );
  });
});
