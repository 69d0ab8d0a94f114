/**
 * `rt.migrations.run` (issue 14) on random records valid under a random version 1: a few typed fields
 * (text, numeric text, numbers, booleans, lists), some optional, some in nested objects. A random chain
 * of steps is chosen by following what each step does to version 1's shape, so that version 2 can be
 * derived from the shape the chain leaves: strict objects, so a step the model gets wrong fails
 * validation rather than passing unseen.
 *
 * - A run equals applying the steps in memory to every bound record, tags each with version 2, and
 *   leaves every other key as it was, byte for byte.
 * - A run that fails on one record (a step that throws, or a result that version 2 refuses) names it,
 *   leaves every namespace but the event log byte-identical, and logs exactly `migration.started` and
 *   `migration.failed`.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { z } from 'zod';
import { createRuntime, LlmStateError, Scope, steps, type Runtime } from '../src/index.js';
import { storageOf } from '../src/runtime.js';
import { applySteps, fieldPath, type ConvertTarget, type MigrationStep } from '../src/schema/steps.js';
import { isWithin } from '../src/schema/fieldPath.js';
import { encodeStateKey } from '../src/state/keyCodec.js';
import { SUBLEVELS } from '../src/storage/index.js';
import { decodeRecord } from '../src/storage/recordEnvelope.js';
import { runs } from './budget.js';

const { renameField, addField, removeField, convert, custom } = steps;

type Leaf = 'text' | 'digits' | 'int' | 'bool' | 'boolText' | 'tags';

/** A field of a shape: a leaf of one type, or an object of fields. */
interface Field {
  optional: boolean;
  type: Leaf | Shape;
}

/** The fields of an object, as a version of the schema declares them. */
type Shape = Map<string, Field>;

/** The keys fields are named from; `x.y` holds a dot, so its paths need the escape. `id` is kept apart. */
const KEYS = ['name', 'age', 'active', 'city', 'zip', 'meta', 'x.y'] as const;

/** Where each type goes when converted; a target missing here cannot convert every value of the type. */
const CONVERSIONS: Record<Leaf, Partial<Record<ConvertTarget, Leaf>>> = {
  text: { string: 'text' },
  digits: { number: 'int', string: 'digits' },
  int: { number: 'int', string: 'digits' },
  bool: { boolean: 'bool', string: 'boolText', number: 'int' },
  boolText: { boolean: 'bool', string: 'boolText' },
  tags: {},
};

const LEAF_VALUES: Record<Leaf, fc.Arbitrary<unknown>> = {
  text: fc.string({ maxLength: 6 }),
  digits: fc.stringMatching(/^\d{1,6}$/),
  int: fc.nat({ max: 1_000_000 }),
  bool: fc.boolean(),
  boolText: fc.constantFrom('true', 'false'),
  tags: fc.array(fc.string({ maxLength: 4 }), { maxLength: 3 }),
};

const LEAF_SCHEMAS: Record<Leaf, () => z.ZodType> = {
  text: () => z.string(),
  digits: () => z.string().regex(/^\d+$/),
  int: () => z.number().int().min(0),
  bool: () => z.boolean(),
  boolText: () => z.enum(['true', 'false']),
  tags: () => z.array(z.string()),
};

const leafArb = fc.constantFrom<Leaf>('text', 'digits', 'int', 'bool', 'boolText', 'tags');

function shapeArb(depth: number): fc.Arbitrary<Shape> {
  const type: fc.Arbitrary<Leaf | Shape> = depth < 2 ? fc.oneof({ weight: 4, arbitrary: leafArb }, { weight: 1, arbitrary: fc.constant(null).chain(() => shapeArb(depth + 1)) }) : leafArb;
  const field = fc.record({ optional: fc.nat(3).map((n) => n === 0), type });
  return fc.uniqueArray(fc.tuple(fc.constantFrom(...KEYS), field), { selector: ([key]) => key, minLength: depth === 0 ? 2 : 1, maxLength: 4 }).map((entries) => new Map(entries));
}

/** Every version's records have an `id` that no step touches, so that a failure can pick one record. */
function schemaOf(shape: Shape, root = true): z.ZodObject {
  const fields: Record<string, z.ZodType> = root ? { id: z.string() } : {};
  for (const [key, field] of shape) {
    const type = field.type instanceof Map ? schemaOf(field.type, false) : LEAF_SCHEMAS[field.type]();
    fields[key] = field.optional ? type.optional() : type;
  }
  return z.strictObject(fields);
}

function valueArb(shape: Shape): fc.Arbitrary<Record<string, unknown>> {
  const entries = [...shape].map(([key, field]) => {
    const value = field.type instanceof Map ? valueArb(field.type) : LEAF_VALUES[field.type];
    return fc.tuple(fc.constant(key), field.optional ? fc.option(value, { nil: undefined }) : value);
  });
  return fc.tuple(...entries).map((pairs) => Object.fromEntries(pairs.filter(([, value]) => value !== undefined)));
}

function copyShape(shape: Shape): Shape {
  return new Map([...shape].map(([key, field]) => [key, { optional: field.optional, type: field.type instanceof Map ? copyShape(field.type) : field.type }]));
}

/** A field of a shape, with whether an object above it, or it, is optional (so absent from some records). */
interface Located {
  keys: string[];
  field: Field;
  absentAbove: boolean;
  mayBeAbsent: boolean;
}

function fieldsOf(shape: Shape, above: string[] = [], absentAbove = false): Located[] {
  return [...shape].flatMap(([key, field]) => {
    const here = { keys: [...above, key], field, absentAbove, mayBeAbsent: absentAbove || field.optional };
    return field.type instanceof Map ? [here, ...fieldsOf(field.type, here.keys, here.mayBeAbsent)] : [here];
  });
}

/** The objects a step may write into without creating a parent that would lack its other fields: the record, and the objects every record has. */
function solidPlaces(shape: Shape): string[][] {
  return [[], ...fieldsOf(shape).filter((located) => located.field.type instanceof Map && !located.mayBeAbsent).map((located) => located.keys)];
}

function objectAt(shape: Shape, keys: readonly string[]): Shape {
  let node = shape;
  for (const key of keys) node = node.get(key)!.type as Shape;
  return node;
}

/** Paths not in the shape that a step may create: a new key in a solid place, sometimes inside a new object. */
function freePaths(shape: Shape, newKey: number, nested: boolean): string[][] {
  return solidPlaces(shape).flatMap((place) => {
    const key = KEYS[newKey % KEYS.length];
    if (objectAt(shape, place).has(key)) return [];
    return [nested ? [...place, key, KEYS[(newKey + 1) % KEYS.length]] : [...place, key]];
  });
}

/**
 * Puts `field` at `keys`, creating the objects on the way. What the step creates is absent from the
 * records it leaves alone: `optional` says whether there are such records, and applies to the first
 * object created, or to the field itself when no object is.
 */
function place(shape: Shape, keys: readonly string[], field: Field, optional: boolean): void {
  let node = shape;
  let created = false;
  for (const key of keys.slice(0, -1)) {
    let next = node.get(key);
    if (next === undefined) {
      next = { optional: created ? false : optional, type: new Map() };
      created = true;
      node.set(key, next);
    }
    node = next.type as Shape;
  }
  node.set(keys.at(-1)!, { ...field, optional: created ? false : optional });
}

function remove(shape: Shape, keys: readonly string[]): void {
  objectAt(shape, keys.slice(0, -1)).delete(keys.at(-1)!);
}

interface Choice {
  op: 'renameField' | 'addField' | 'removeField' | 'convert';
  pick: number;
  newKey: number;
  nested: boolean;
  to: ConvertTarget;
  default: { type: Leaf | 'object'; value: unknown };
}

const defaultArb = fc.oneof(
  ...(Object.keys(LEAF_VALUES) as Leaf[]).map((type) => LEAF_VALUES[type].map((value) => ({ type, value }))),
  fc.constant({ type: 'object' as const, value: {} }),
);

const choiceArb: fc.Arbitrary<Choice> = fc.record({
  op: fc.constantFrom('renameField', 'addField', 'removeField', 'convert'),
  pick: fc.nat(),
  newKey: fc.nat(KEYS.length - 1),
  nested: fc.nat(3).map((n) => n === 0),
  to: fc.constantFrom<ConvertTarget>('number', 'string', 'boolean'),
  default: defaultArb,
});

/**
 * The steps the choices make from version 1's shape, each valid on every record of the shape it meets,
 * and the shape they leave: version 2. A choice that has nothing to apply to makes no step.
 */
function planChain(v1: Shape, choices: readonly Choice[]): { steps: MigrationStep[]; v2: Shape } {
  const shape = copyShape(v1);
  const chain: MigrationStep[] = [];
  const pickOf = <T>(list: readonly T[], pick: number): T | undefined => (list.length === 0 ? undefined : list[pick % list.length]);
  for (const choice of choices) {
    switch (choice.op) {
      case 'renameField': {
        const from = pickOf(fieldsOf(shape), choice.pick);
        if (from === undefined) break;
        remove(shape, from.keys);
        const to = pickOf(
          freePaths(shape, choice.newKey, choice.nested).filter((keys) => !isWithin(from.keys, keys)),
          choice.pick,
        );
        if (to === undefined) {
          place(shape, from.keys, from.field, from.field.optional);
          break;
        }
        place(shape, to, from.field, from.mayBeAbsent);
        chain.push(renameField(fieldPath(...from.keys), fieldPath(...to)));
        break;
      }
      case 'addField': {
        const { type, value } = choice.default;
        const fieldType = type === 'object' ? new Map() : type;
        // A new field, or one in an object every record has: required (nothing to do), or optional and of the default's type.
        const existing = fieldsOf(shape).filter((located) => !located.mayBeAbsent || (!located.absentAbove && located.field.type === type));
        const path = pickOf([...freePaths(shape, choice.newKey, choice.nested), ...existing.map((located) => located.keys)], choice.pick);
        if (path === undefined) break;
        const known = fieldsOf(shape).find((located) => located.keys.join('\0') === path.join('\0'));
        if (known === undefined) place(shape, path, { optional: false, type: fieldType }, false);
        else known.field.optional = false;
        chain.push(addField(fieldPath(...path), value as never));
        break;
      }
      case 'removeField': {
        // A field that is there, or sometimes one that is not (nothing to do).
        const path = pickOf([...fieldsOf(shape).map((located) => located.keys), ...freePaths(shape, choice.newKey, choice.nested)], choice.pick);
        if (path === undefined) break;
        if (fieldsOf(shape).some((located) => located.keys.join('\0') === path.join('\0'))) remove(shape, path);
        chain.push(removeField(fieldPath(...path)));
        break;
      }
      case 'convert': {
        const convertible = fieldsOf(shape).filter((located) => !(located.field.type instanceof Map) && CONVERSIONS[located.field.type as Leaf][choice.to] !== undefined);
        const target = pickOf(convertible, choice.pick);
        if (target === undefined) break;
        target.field.type = CONVERSIONS[target.field.type as Leaf][choice.to]!;
        chain.push(convert(fieldPath(...target.keys), choice.to));
        break;
      }
    }
  }
  return { steps: chain, v2: shape };
}

const AGENTS = [Scope.agent('a0'), Scope.agent('a1'), Scope.agent('a2')];
/** Scopes no binding covers: the binding names agents. */
const OTHERS = [Scope.custom('team'), Scope.session('s0')];

interface Placed {
  scope: Scope;
  key: string;
  value: unknown;
}

interface Scenario {
  v1: Shape;
  choices: Choice[];
  /** Under the binding (agent scopes, keys starting with `p`), valid under version 1. */
  bound: Placed[];
  /** Agent keys outside the prefix, and other scopes' keys inside it: some shaped as version 1. */
  unbound: Placed[];
}

const anyJson = fc.jsonValue({ maxDepth: 2 }).map((value) => JSON.parse(JSON.stringify(value)) as unknown);

const scenarioArb: fc.Arbitrary<Scenario> = shapeArb(0).chain((v1) =>
  fc.record({
    v1: fc.constant(v1),
    choices: fc.array(choiceArb, { maxLength: 7 }),
    bound: fc
      .uniqueArray(fc.tuple(fc.nat(AGENTS.length - 1), fc.constantFrom('p0', 'p1', 'p2', 'p3', 'profile', 'p.x'), valueArb(v1)), { selector: ([scope, key]) => `${scope} ${key}`, minLength: 1, maxLength: 12 })
      .map((list) => list.map(([scope, key, value], i): Placed => ({ scope: AGENTS[scope], key, value: { id: `r${i}`, ...value } }))),
    unbound: fc.uniqueArray(
      fc.oneof(
        fc.tuple(fc.nat(AGENTS.length - 1), fc.constantFrom('q0', 'notes', 'Profile'), fc.oneof(valueArb(v1), anyJson)).map(([scope, key, value]): Placed => ({ scope: AGENTS[scope], key, value })),
        fc.tuple(fc.nat(OTHERS.length - 1), fc.constantFrom('p0', 'profile'), fc.oneof(valueArb(v1), anyJson)).map(([scope, key, value]): Placed => ({ scope: OTHERS[scope], key, value })),
      ),
      { selector: (placed) => `${placed.scope} ${placed.key}`, maxLength: 6 },
    ),
  }),
);

async function setUp(rt: Runtime, scenario: Scenario, v2: z.ZodType, chain: MigrationStep[]): Promise<void> {
  await rt.schemas.register({ name: 'profile', version: '1.0.0', schema: schemaOf(scenario.v1) });
  await rt.schemas.bind('profile', { scopeKind: 'agent', keyPrefix: 'p' });
  for (const { scope, key, value } of [...scenario.bound, ...scenario.unbound]) await rt.state.set(scope, key, value);
  await rt.schemas.register({ name: 'profile', version: '2.0.0', schema: v2 });
  await rt.migrations.define({ schema: 'profile', from: '1.0.0', to: '2.0.0', steps: chain });
}

/** Every record of every namespace, raw, by namespace. */
async function rawStore(rt: Runtime): Promise<Map<string, string[]>> {
  const store = new Map<string, string[]>();
  for (const sublevel of SUBLEVELS) {
    const records: string[] = [];
    for await (const [key, value] of storageOf(rt).iterate(sublevel)) records.push(`${key.toString('hex')} ${value.toString('hex')}`);
    store.set(sublevel, records);
  }
  return store;
}

async function rawRecord(rt: Runtime, scope: Scope, key: string): Promise<Buffer | undefined> {
  return storageOf(rt).get('state', encodeStateKey(scope, key));
}

async function withRuntime(work: (rt: Runtime) => Promise<void>): Promise<void> {
  const rt = await createRuntime({ memory: true });
  try {
    await work(rt);
  } finally {
    await rt.close();
  }
}

describe('property: migration runs', function () {
  this.timeout(300_000);

  it('a run equals applying the steps in memory to every bound record, tags each with version 2, and leaves every other key byte-identical', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (scenario) => {
        const { steps: chain, v2 } = planChain(scenario.v1, scenario.choices);
        const v2Schema = schemaOf(v2);
        const expected = scenario.bound.map(({ value }) => applySteps(value, chain));
        // The model's own check: what the steps make is what version 2 declares.
        expected.forEach((value) => assert.deepEqual(v2Schema.safeParse(value).error?.issues, undefined, `the model's version 2 refuses ${JSON.stringify(value)}`));
        await withRuntime(async (rt) => {
          await setUp(rt, scenario, v2Schema, chain);
          const unboundBefore = await Promise.all(scenario.unbound.map(({ scope, key }) => rawRecord(rt, scope, key)));
          const result = await rt.migrations.run({ schema: 'profile' });
          assert.equal(result.migrated, scenario.bound.length);
          assert.deepEqual(result.byVersion, { '1.0.0': scenario.bound.length });
          for (const [i, { scope, key }] of scenario.bound.entries()) {
            assert.deepEqual(await rt.state.get(scope, key), expected[i], `${scope} ${key}`);
            assert.equal(decodeRecord((await rawRecord(rt, scope, key))!).schema, 'profile@2.0.0', `${scope} ${key} names version 2`);
          }
          const unboundAfter = await Promise.all(scenario.unbound.map(({ scope, key }) => rawRecord(rt, scope, key)));
          assert.deepEqual(unboundAfter, unboundBefore, 'the keys no binding covers are untouched');
          const raw = await rawStore(rt);
          assert.deepEqual(raw.get('migrations'), [], 'the journal is empty');
          assert.equal(await storageOf(rt).get('meta', Buffer.from('migration')), undefined, 'no migration marker is left');
        });
      }),
      { numRuns: runs(100) },
    );
  });

  it('a run that fails on one record names it, leaves every namespace but the event log byte-identical, and logs migration.started and migration.failed', async () => {
    const failureArb = scenarioArb.chain((scenario) =>
      fc.record({
        scenario: fc.constant(scenario),
        victim: fc.nat(scenario.bound.length - 1),
        how: fc.constantFrom('throws', 'invalid'),
        at: fc.nat(),
      }),
    );
    await fc.assert(
      fc.asyncProperty(failureArb, async ({ scenario, victim, how, at }) => {
        const planned = planChain(scenario.v1, scenario.choices);
        const victimId = (scenario.bound[victim].value as { id: string }).id;
        const chain = [...planned.steps];
        let v2: z.ZodType = schemaOf(planned.v2);
        if (how === 'throws') {
          const refuse = custom((value: { id: string }) => {
            if (value.id === victimId) throw new Error(`refusing ${victimId}`);
            return value;
          }, 'refuseOne');
          chain.splice(at % (chain.length + 1), 0, refuse);
        } else {
          v2 = (v2 as z.ZodObject).refine((value) => value.id !== victimId, { message: `refusing ${victimId}` });
        }
        await withRuntime(async (rt) => {
          await setUp(rt, scenario, v2, chain);
          const before = await rawStore(rt);
          const eventsBefore = await rt.events.query();
          await assert.rejects(rt.migrations.run({ schema: 'profile' }), (error: unknown) => {
            assert.ok(error instanceof LlmStateError, String(error));
            assert.equal(error.code, 'MIGRATION_FAILED', error.message);
            const details = error.details as { scope: string; key: string };
            assert.deepEqual([details.scope, details.key], [scenario.bound[victim].scope.toString(), scenario.bound[victim].key]);
            assert.match(error.message, new RegExp(`refusing ${victimId}`));
            return true;
          });
          const after = await rawStore(rt);
          for (const sublevel of SUBLEVELS) {
            if (sublevel === 'events') continue;
            assert.deepEqual(after.get(sublevel), before.get(sublevel), `the ${sublevel} namespace changed`);
          }
          const eventsAfter = await rt.events.query();
          assert.deepEqual(eventsAfter.slice(0, eventsBefore.length), eventsBefore, 'the events before the run are as they were');
          const added = eventsAfter.slice(eventsBefore.length);
          assert.deepEqual(added.map((event) => event.kind), ['migration.started', 'migration.failed']);
          const failed = added[1].data as { id: string; code?: string; scope?: string; key?: string };
          assert.equal(failed.id, (added[0].data as { id: string }).id);
          assert.deepEqual([failed.code, failed.scope, failed.key], ['MIGRATION_FAILED', scenario.bound[victim].scope.toString(), scenario.bound[victim].key]);
          assert.deepEqual(await rt.state.get(scenario.bound[victim].scope, scenario.bound[victim].key), scenario.bound[victim].value, 'the keys are released, as they were');
        });
      }),
      { numRuns: runs(100) },
    );
  });
});
