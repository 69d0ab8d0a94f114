/**
 * Schema compatibility (issue 14, item 3) never claims what it cannot prove: for random pairs of zod
 * schemas, one often a small mutation of the other, whatever direction `compareSchemas` finds
 * compatible holds for every sampled value. A value valid under the old schema, as that schema's parse
 * returns it, parses under the new one when every change is backward; the mirror when every change is
 * forward.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { z } from 'zod';
import { compareJsonSchemas, compareSchemas, type Compatibility } from '../src/schema/compatibility.js';
import { runs } from './budget.js';

type Spec =
  | { t: 'string'; min: number | undefined; max: number | undefined }
  | { t: 'number'; integer: boolean; min: number | undefined; max: number | undefined }
  | { t: 'boolean' }
  | { t: 'enum'; values: string[] }
  | { t: 'literal'; value: string | number }
  | { t: 'nullable'; inner: Spec }
  | { t: 'array'; item: Spec; min: number | undefined }
  | { t: 'union'; options: [Spec, Spec] }
  /** A refinement JSON Schema cannot show: the same function in both versions when `shared`. */
  | { t: 'refined'; inner: Spec; shared: boolean }
  | { t: 'tuple'; items: Spec[] }
  | { t: 'record'; value: Spec }
  | { t: 'object'; mode: 'strip' | 'strict' | 'loose' | Spec; fields: Field[] };

interface Field {
  name: string;
  spec: Spec;
  presence: 'required' | 'optional' | 'default';
  /** Used when presence is 'default'; valid under `spec`. */
  fallback: unknown;
}

const NAMES = ['a', 'b', 'c', 'd'];

const bounds = (low: number, high: number) =>
  fc.tuple(fc.option(fc.integer({ min: low, max: high }), { nil: undefined }), fc.option(fc.integer({ min: low, max: high }), { nil: undefined }))
    .map(([x, y]) => (x !== undefined && y !== undefined && x > y ? [y, x] : [x, y]) as [number | undefined, number | undefined]);

const leafArb: fc.Arbitrary<Spec> = fc.oneof(
  bounds(0, 4).map(([min, max]): Spec => ({ t: 'string', min, max })),
  fc.tuple(fc.boolean(), bounds(-5, 5)).map(([integer, [min, max]]): Spec => ({ t: 'number', integer, min, max })),
  fc.constant<Spec>({ t: 'boolean' }),
  fc.uniqueArray(fc.constantFrom('x', 'y', 'z'), { minLength: 1, maxLength: 3 }).map((values): Spec => ({ t: 'enum', values })),
  fc.constantFrom<string | number>('x', 1).map((value): Spec => ({ t: 'literal', value })),
);

const { spec: specArb } = fc.letrec<{ spec: Spec; field: Omit<Field, 'fallback'> }>((tie) => ({
  spec: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leafArb,
    tie('spec').map((inner): Spec => ({ t: 'nullable', inner })),
    fc.tuple(tie('spec'), fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined })).map(([item, min]): Spec => ({ t: 'array', item, min })),
    fc.tuple(tie('spec'), tie('spec')).map((options): Spec => ({ t: 'union', options })),
    fc.tuple(tie('spec'), fc.boolean()).map(([inner, shared]): Spec => ({ t: 'refined', inner, shared })),
    fc.array(tie('spec'), { maxLength: 3 }).map((items): Spec => ({ t: 'tuple', items })),
    tie('spec').map((value): Spec => ({ t: 'record', value })),
    fc.tuple(fc.oneof(fc.constantFrom<'strip' | 'strict' | 'loose'>('strip', 'strict', 'loose'), leafArb), fc.uniqueArray(tie('field'), { maxLength: 3, selector: (field) => field.name }))
      .map(([mode, fields]): Spec => ({ t: 'object', mode, fields: fields.map((field) => ({ ...field, fallback: sampleValid(field.spec) })) })),
  ),
  field: fc.record({ name: fc.constantFrom(...NAMES), spec: tie('spec'), presence: fc.constantFrom('required', 'optional', 'default') }),
})) as { spec: fc.Arbitrary<Spec> };

/** A mutation of a spec: each node kept, or replaced by a fresh one, or its children mutated. */
function mutate(spec: Spec): fc.Arbitrary<Spec> {
  const fresh = { weight: 1, arbitrary: specArb };
  const same = { weight: 3, arbitrary: fc.constant(spec) };
  switch (spec.t) {
    case 'nullable':
      return fc.oneof(same, fresh, { weight: 2, arbitrary: mutate(spec.inner).map((inner): Spec => ({ ...spec, inner })) }, { weight: 1, arbitrary: fc.constant(spec.inner) });
    case 'array':
      return fc.oneof(same, fresh, { weight: 2, arbitrary: mutate(spec.item).map((item): Spec => ({ ...spec, item })) });
    case 'record':
      return fc.oneof(same, fresh, { weight: 2, arbitrary: mutate(spec.value).map((value): Spec => ({ ...spec, value })) });
    case 'tuple':
      return fc.oneof(same, fresh, { weight: 2, arbitrary: fc.tuple(...spec.items.map(mutate)).map((items): Spec => ({ ...spec, items })) });
    case 'object':
      return fc.oneof(same, fresh, {
        weight: 4,
        arbitrary: fc.tuple(
          fc.oneof(fc.constantFrom(spec.mode, 'strip', 'strict', 'loose'), leafArb),
          fc.tuple(...spec.fields.map((field) => fc.oneof(
            { weight: 3, arbitrary: mutate(field.spec).map((inner) => ({ ...field, spec: inner, fallback: sampleValid(inner) })) },
            { weight: 1, arbitrary: fc.constantFrom('required', 'optional', 'default').map((presence) => ({ ...field, presence })) },
            { weight: 1, arbitrary: fc.constant(undefined) },
          ))),
          fc.option(fc.record({ name: fc.constantFrom(...NAMES), spec: leafArb, presence: fc.constantFrom('required', 'optional', 'default') }), { nil: undefined }),
        ).map(([mode, kept, extra]): Spec => {
          const fields = kept.filter((field): field is Field => field !== undefined);
          if (extra !== undefined && !fields.some((field) => field.name === extra.name)) fields.push({ ...extra, fallback: sampleValid(extra.spec) });
          return { t: 'object', mode, fields };
        }),
      });
    default:
      return fc.oneof(same, { weight: 2, arbitrary: leafArb });
  }
}

/** Refuses about a quarter of values, the same ones every time. */
const sharedCheck = (value: unknown) => (JSON.stringify(value) ?? '').length % 4 !== 1;

function toZod(spec: Spec): z.ZodType {
  switch (spec.t) {
    case 'refined':
      return toZod(spec.inner).refine(spec.shared ? sharedCheck : (value) => sharedCheck(value));
    case 'string': {
      let schema = z.string();
      if (spec.min !== undefined) schema = schema.min(spec.min);
      if (spec.max !== undefined) schema = schema.max(spec.max);
      return schema;
    }
    case 'number': {
      let schema = spec.integer ? z.int() : z.number();
      if (spec.min !== undefined) schema = schema.min(spec.min);
      if (spec.max !== undefined) schema = schema.max(spec.max);
      return schema;
    }
    case 'boolean':
      return z.boolean();
    case 'enum':
      return z.enum(spec.values as [string, ...string[]]);
    case 'literal':
      return z.literal(spec.value);
    case 'nullable':
      return toZod(spec.inner).nullable();
    case 'array':
      return spec.min === undefined ? z.array(toZod(spec.item)) : z.array(toZod(spec.item)).min(spec.min);
    case 'union':
      return z.union([toZod(spec.options[0]), toZod(spec.options[1])]);
    case 'tuple':
      return z.tuple(spec.items.map(toZod) as [z.ZodType, ...z.ZodType[]]);
    case 'record':
      return z.record(z.string(), toZod(spec.value));
    case 'object': {
      const shape = Object.fromEntries(spec.fields.map((field) => {
        const schema = toZod(field.spec);
        return [field.name, field.presence === 'optional' ? schema.optional() : field.presence === 'default' ? schema.default(field.fallback as never) : schema];
      }));
      if (typeof spec.mode === 'object') return z.object(shape).catchall(toZod(spec.mode));
      return spec.mode === 'strict' ? z.strictObject(shape) : spec.mode === 'loose' ? z.looseObject(shape) : z.object(shape);
    }
  }
}

/** Values valid under a spec (refinements aside), with extra fields on objects that accept them. */
function validValues(spec: Spec): fc.Arbitrary<unknown> {
  switch (spec.t) {
    case 'refined':
      // Not filtered: the check may refuse every value of a narrow inner schema. The property skips
      // what fails the schema.
      return validValues(spec.inner);
    case 'string':
      return fc.string({ minLength: spec.min ?? 0, maxLength: spec.max ?? (spec.min ?? 0) + 4 });
    case 'number': {
      const min = spec.min ?? -20;
      const max = spec.max ?? 20;
      const integers = fc.integer({ min, max });
      return spec.integer ? integers : fc.oneof(integers, fc.double({ min, max, noNaN: true, noDefaultInfinity: true }).filter((n) => !Object.is(n, -0)));
    }
    case 'boolean':
      return fc.boolean();
    case 'enum':
      return fc.constantFrom(...spec.values);
    case 'literal':
      return fc.constant(spec.value);
    case 'nullable':
      return fc.oneof(fc.constant(null), validValues(spec.inner));
    case 'array':
      return fc.array(validValues(spec.item), { minLength: spec.min ?? 0, maxLength: (spec.min ?? 0) + 3 });
    case 'union':
      return fc.oneof(validValues(spec.options[0]), validValues(spec.options[1]));
    case 'tuple':
      return fc.tuple(...spec.items.map(validValues));
    case 'record':
      return fc.dictionary(fc.constantFrom(...NAMES), validValues(spec.value), { maxKeys: 3 });
    case 'object': {
      const named = Object.fromEntries(spec.fields.map((field) => [field.name, validValues(field.spec)]));
      const requiredKeys = spec.fields.filter((field) => field.presence === 'required').map((field) => field.name);
      const unnamed = fc.constantFrom(...NAMES.filter((name) => !spec.fields.some((field) => field.name === name)), 'e');
      const extras = spec.mode === 'strict'
        ? fc.constant({})
        : fc.dictionary(unnamed, typeof spec.mode === 'object' ? validValues(spec.mode) : fc.oneof(fc.string({ maxLength: 2 }), fc.integer(), fc.boolean(), fc.constant(null)), { maxKeys: 2 });
      return fc.tuple(fc.record(named, { requiredKeys }), extras).map(([fields, extra]) => ({ ...extra, ...fields }));
    }
  }
}

function hasRefinement(spec: Spec): boolean {
  switch (spec.t) {
    case 'refined':
      return true;
    case 'nullable':
      return hasRefinement(spec.inner);
    case 'array':
      return hasRefinement(spec.item);
    case 'record':
      return hasRefinement(spec.value);
    case 'tuple':
      return spec.items.some(hasRefinement);
    case 'union':
      return spec.options.some(hasRefinement);
    case 'object':
      return spec.fields.some((field) => hasRefinement(field.spec));
    default:
      return false;
  }
}

function sampleValid(spec: Spec): unknown {
  return fc.sample(validValues(spec), { numRuns: 1, seed: 7 })[0];
}

const pairArb = fc.oneof(
  { weight: 1, arbitrary: fc.tuple(specArb, specArb) },
  { weight: 3, arbitrary: specArb.chain((a) => mutate(a).map((b) => [a, b] as [Spec, Spec])) },
);

describe('property: schema compatibility', () => {
  it('a direction compareSchemas finds compatible holds for every sampled value', () => {
    fc.assert(
      fc.property(
        pairArb.chain(([a, b]) => fc.tuple(fc.constant(a), fc.constant(b), fc.array(fc.oneof(validValues(a), validValues(b)), { minLength: 1, maxLength: 12 }))),
        ([specA, specB, values]) => {
          const [from, to] = [toZod(specA), toZod(specB)];
          const { level, changes } = compareSchemas(from, to);
          const backward = changes.every((change) => change.backward);
          const forward = changes.every((change) => change.forward);
          assert.equal(level === 'identical', changes.length === 0);
          for (const value of values) {
            // zod stores a default without checking it, so a default its own schema refuses yields
            // values that schema refuses; those are no question of compatibility.
            const old = from.safeParse(value);
            if (backward && old.success && from.safeParse(old.data).success) {
              assert.ok(to.safeParse(old.data).success, `claimed backward, but ${JSON.stringify(old.data)} fails the new schema; changes: ${JSON.stringify(changes)}`);
            }
            const fresh = to.safeParse(value);
            if (forward && fresh.success && to.safeParse(fresh.data).success) {
              assert.ok(from.safeParse(fresh.data).success, `claimed forward, but ${JSON.stringify(fresh.data)} fails the old schema; changes: ${JSON.stringify(changes)}`);
            }
          }
        },
      ),
      { numRuns: runs(500) },
    );
  });

  it('compareJsonSchemas on the stored JSON Schemas agrees with compareSchemas where JSON Schema hides nothing', () => {
    const stored = (schema: z.ZodType) => JSON.parse(JSON.stringify(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }))) as object;
    fc.assert(
      fc.property(pairArb.filter(([a, b]) => !hasRefinement(a) && !hasRefinement(b)), ([specA, specB]) => {
        const [from, to] = [toZod(specA), toZod(specB)];
        // The reasons differ in what they suggest: only compareSchemas takes samples.
        const withoutReasons = ({ level, changes }: Compatibility) => ({ level, changes: changes.map(({ reason: _, ...change }) => change) });
        assert.deepEqual(withoutReasons(compareJsonSchemas(stored(from), stored(to))), withoutReasons(compareSchemas(from, to)));
      }),
      { numRuns: runs(300) },
    );
  });

  it('with samples, a direction compareSchemas finds compatible holds for every sample, as given and as parsed', () => {
    fc.assert(
      fc.property(
        pairArb.chain(([a, b]) => fc.tuple(fc.constant(a), fc.constant(b), fc.array(fc.oneof(validValues(a), validValues(b)), { minLength: 1, maxLength: 12 }))),
        ([specA, specB, samples]) => {
          const [from, to] = [toZod(specA), toZod(specB)];
          const { changes } = compareSchemas(from, to, { samples });
          const backward = changes.every((change) => change.backward);
          const forward = changes.every((change) => change.forward);
          for (const sample of samples) {
            const old = from.safeParse(sample);
            if (backward && old.success) assert.ok(to.safeParse(sample).success && to.safeParse(old.data).success, `claimed backward, but ${JSON.stringify(sample)} fails the new schema`);
            const fresh = to.safeParse(sample);
            if (forward && fresh.success) assert.ok(from.safeParse(sample).success && from.safeParse(fresh.data).success, `claimed forward, but ${JSON.stringify(sample)} fails the old schema`);
          }
        },
      ),
      { numRuns: runs(300) },
    );
  });
});
