import assert from 'node:assert/strict';
import { z } from 'zod';
import { CHANGE_KINDS, compareJsonSchemas, compareSchemas, type Compatibility, type SchemaChange } from '../../src/schema/compatibility.js';

/** The changes without their from/to/reason, which the tests that need them look at separately. */
function verdicts(result: Compatibility): Array<Pick<SchemaChange, 'path' | 'change' | 'backward' | 'forward'>> {
  return result.changes.map(({ path, change, backward, forward }) => ({ path, change, backward, forward }));
}

/** The JSON Schema a registry stores: the input form, through JSON as it would be persisted. */
function stored(schema: z.ZodType): object {
  return JSON.parse(JSON.stringify(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }))) as object;
}

describe('schema compatibility', () => {
  describe('the kinds of change of issue 14', () => {
    it('an optional field added is backward-compatible', () => {
      const result = compareSchemas(z.object({ name: z.string() }), z.object({ name: z.string(), nick: z.string().optional() }));
      assert.equal(result.level, 'backward-compatible');
      assert.deepEqual(verdicts(result), [{ path: 'nick', change: 'optional-added', backward: true, forward: true }]);
      assert.deepEqual(result.changes[0].to, { type: 'string' });
    });

    it('a required field added is breaking (DESIGN §9): old values lack it, though the old schema reads new ones', () => {
      const result = compareSchemas(z.object({ name: z.string() }), z.object({ name: z.string(), age: z.number() }));
      assert.equal(result.level, 'breaking');
      assert.deepEqual(verdicts(result), [{ path: 'age', change: 'required-added', backward: false, forward: true }]);
    });

    it('a required field removed is breaking (DESIGN §9): new values lack it, though the new schema reads old ones', () => {
      const result = compareSchemas(z.object({ name: z.string(), age: z.number() }), z.object({ name: z.string() }));
      assert.equal(result.level, 'breaking');
      assert.deepEqual(verdicts(result), [{ path: 'age', change: 'required-removed', backward: true, forward: false }]);
    });

    it('a required field added to or removed from a strict object is breaking', () => {
      const removed = compareSchemas(z.strictObject({ name: z.string(), age: z.number() }), z.strictObject({ name: z.string() }));
      assert.equal(removed.level, 'breaking');
      assert.deepEqual(verdicts(removed), [{ path: 'age', change: 'required-removed', backward: false, forward: false }]);
      const added = compareSchemas(z.strictObject({ name: z.string() }), z.strictObject({ name: z.string(), age: z.number() }));
      assert.equal(added.level, 'breaking');
      assert.deepEqual(verdicts(added), [{ path: 'age', change: 'required-added', backward: false, forward: false }]);
    });

    it('a type changed is breaking, and says from what to what', () => {
      const result = compareSchemas(z.object({ age: z.string() }), z.object({ age: z.number() }));
      assert.equal(result.level, 'breaking');
      assert.deepEqual(result.changes, [{ path: 'age', change: 'type-changed', from: 'string', to: 'number', backward: false, forward: false }]);
    });

    it('an enum narrowed is forward-compatible only', () => {
      const result = compareSchemas(z.object({ tier: z.enum(['free', 'pro', 'team']) }), z.object({ tier: z.enum(['free', 'pro']) }));
      assert.equal(result.level, 'forward-compatible');
      assert.deepEqual(result.changes, [{ path: 'tier', change: 'enum-narrowed', from: ['free', 'pro', 'team'], to: ['free', 'pro'], backward: false, forward: true }]);
    });

    it('an enum widened is backward-compatible only', () => {
      const result = compareSchemas(z.object({ tier: z.enum(['free', 'pro']) }), z.object({ tier: z.enum(['free', 'pro', 'team']) }));
      assert.equal(result.level, 'backward-compatible');
      assert.deepEqual(verdicts(result), [{ path: 'tier', change: 'enum-widened', backward: true, forward: false }]);
    });

    it('a literal replaced by another both narrows and widens: breaking', () => {
      const result = compareSchemas(z.object({ kind: z.literal('a') }), z.object({ kind: z.literal('b') }));
      assert.equal(result.level, 'breaking');
      assert.deepEqual(result.changes.map((change) => change.change), ['enum-narrowed', 'enum-widened']);
    });

    it('a field made nullable is backward-compatible', () => {
      const result = compareSchemas(z.object({ email: z.string() }), z.object({ email: z.string().nullable() }));
      assert.equal(result.level, 'backward-compatible');
      assert.deepEqual(result.changes, [{ path: 'email', change: 'nullable-added', from: 'string', to: ['null', 'string'], backward: true, forward: false }]);
    });

    it('a field no longer nullable is forward-compatible, objects included (zod writes anyOf with null)', () => {
      const result = compareSchemas(z.object({ home: z.object({ city: z.string() }).nullable() }), z.object({ home: z.object({ city: z.string() }) }));
      assert.equal(result.level, 'forward-compatible');
      assert.deepEqual(verdicts(result), [{ path: 'home', change: 'nullable-removed', backward: false, forward: true }]);
    });

    it('a default added to an optional field changes no verdict', () => {
      const result = compareSchemas(z.object({ lang: z.string().optional() }), z.object({ lang: z.string().default('en') }));
      assert.equal(result.level, 'backward-compatible');
      assert.deepEqual(result.changes, [{ path: 'lang', change: 'default-added', to: 'en', backward: true, forward: true }]);
    });

    it('a default added to a required field is one change, since every stored value has the field either way', () => {
      const result = compareSchemas(z.object({ tags: z.array(z.string()) }), z.object({ tags: z.array(z.string()).default([]) }));
      assert.deepEqual(result.changes, [{ path: 'tags', change: 'default-added', to: [], backward: true, forward: true }]);
    });

    it('a default, which zod stores without parsing it, must be valid under the other version', () => {
      // zod's types refuse such a default written inline; one read at run time gets through.
      const fromConfig = JSON.parse('{ "theme": "dark" }');
      const result = compareSchemas(
        z.object({ prefs: z.object({}).default(fromConfig) }),
        z.object({ prefs: z.object({ theme: z.enum(['light']).optional() }).default(fromConfig) }),
      );
      assert.equal(result.level, 'forward-compatible');
      assert.deepEqual(verdicts(result), [
        { path: 'prefs', change: 'default-invalid', backward: false, forward: true },
        { path: 'prefs.theme', change: 'optional-added', backward: true, forward: true },
      ]);
      const changed = compareSchemas(z.object({ n: z.int().default(5) }), z.object({ n: z.int().max(9).default(7) }));
      assert.deepEqual(verdicts(changed)[0], { path: 'n', change: 'default-changed', backward: true, forward: true });
    });

    it('a default removed and changed are reported too', () => {
      assert.deepEqual(verdicts(compareSchemas(z.object({ n: z.int().default(1) }), z.object({ n: z.int().default(2) }))), [{ path: 'n', change: 'default-changed', backward: true, forward: true }]);
      const removed = compareSchemas(z.object({ n: z.int().default(1) }), z.object({ n: z.int().optional() }));
      assert.deepEqual(removed.changes, [{ path: 'n', change: 'default-removed', from: 1, backward: true, forward: true }]);
    });
  });

  describe('levels', () => {
    it('identical: the same schema, or one that differs only in descriptions and metadata', () => {
      const profile = () => z.object({ name: z.string().min(1), tags: z.array(z.string()) });
      assert.deepEqual(compareSchemas(profile(), profile()), { level: 'identical', changes: [] });
      const described = z.object({ name: z.string().min(1).describe('Full name'), tags: z.array(z.string()).meta({ title: 'Tags', owner: 'crm' }) });
      assert.deepEqual(compareSchemas(profile(), described), { level: 'identical', changes: [] });
    });

    it('the issue example: a rename and a type change are breaking, an optional field with a default is not', () => {
      const v1 = z.object({ name: z.string(), age: z.string() });
      const v2 = z.object({ fullName: z.string(), age: z.number(), tags: z.array(z.string()).default([]) });
      const result = compareSchemas(v1, v2);
      assert.equal(result.level, 'breaking');
      assert.deepEqual(verdicts(result), [
        { path: 'name', change: 'renamed?', backward: false, forward: false },
        { path: 'age', change: 'type-changed', backward: false, forward: false },
        { path: 'tags', change: 'optional-added', backward: true, forward: true },
      ]);
      assert.deepEqual([result.changes[0].from, result.changes[0].to], ['name', 'fullName']);
    });

    it('renamed? needs the same schema on both sides; otherwise the removal and the addition stay apart', () => {
      const result = compareSchemas(z.object({ name: z.string() }), z.object({ fullName: z.number() }));
      assert.deepEqual(verdicts(result), [
        { path: 'name', change: 'required-removed', backward: true, forward: false },
        { path: 'fullName', change: 'required-added', backward: false, forward: true },
      ]);
      assert.equal(result.level, 'breaking');
    });

    it('is the combination over all changes', () => {
      const result = compareSchemas(z.object({ a: z.string(), b: z.int() }), z.object({ a: z.string().nullable(), b: z.number(), c: z.boolean().optional() }));
      assert.equal(result.level, 'backward-compatible');
      assert.equal(result.changes.length, 3);
      assert.ok(result.changes.every((change) => change.backward));
    });
  });

  describe('objects and the fields they do not name', () => {
    it('z.object drops unnamed fields, so adding or removing an optional field is both backward- and forward-compatible', () => {
      const removed = compareSchemas(z.object({ a: z.string(), b: z.string().optional() }), z.object({ a: z.string() }));
      assert.deepEqual(verdicts(removed), [{ path: 'b', change: 'optional-removed', backward: true, forward: true }]);
    });

    it('z.strictObject refuses unnamed fields: an optional field added is backward-compatible only, removed forward-compatible only', () => {
      const added = compareSchemas(z.strictObject({ a: z.string() }), z.strictObject({ a: z.string(), b: z.string().optional() }));
      assert.deepEqual(verdicts(added), [{ path: 'b', change: 'optional-added', backward: true, forward: false }]);
      assert.equal(added.level, 'backward-compatible');
      const removed = compareSchemas(z.strictObject({ a: z.string(), b: z.string().optional() }), z.strictObject({ a: z.string() }));
      assert.deepEqual(verdicts(removed), [{ path: 'b', change: 'optional-removed', backward: false, forward: true }]);
      assert.equal(removed.level, 'forward-compatible');
    });

    it('z.looseObject keeps unnamed fields of any value: an optional field added may meet old values of another type', () => {
      const added = compareSchemas(z.looseObject({ a: z.string() }), z.looseObject({ a: z.string(), b: z.number().optional() }));
      assert.deepEqual(verdicts(added), [{ path: 'b', change: 'optional-added', backward: false, forward: true }]);
      assert.equal(added.level, 'forward-compatible');
      const removed = compareSchemas(z.looseObject({ a: z.string(), b: z.number().optional() }), z.looseObject({ a: z.string() }));
      assert.deepEqual(verdicts(removed), [{ path: 'b', change: 'optional-removed', backward: true, forward: false }]);
    });

    it('a catchall decides by its schema whether a new field fits the values old records kept', () => {
      const fits = compareSchemas(z.object({ a: z.string() }).catchall(z.number()), z.object({ a: z.string(), b: z.number().optional() }).catchall(z.number()));
      assert.deepEqual(verdicts(fits), [{ path: 'b', change: 'optional-added', backward: true, forward: true }]);
      const clashes = compareSchemas(z.object({ a: z.string() }).catchall(z.number()), z.object({ a: z.string(), b: z.string().optional() }).catchall(z.number()));
      assert.deepEqual(verdicts(clashes), [{ path: 'b', change: 'optional-added', backward: false, forward: false }]);
    });

    it('a change from a loose to a strict object is reported on the object', () => {
      const result = compareSchemas(z.looseObject({ a: z.string() }), z.strictObject({ a: z.string() }));
      assert.deepEqual(result.changes, [{ path: '', change: 'constraint-changed', from: { additionalProperties: {} }, to: { additionalProperties: false }, backward: false, forward: true }]);
    });

    it('a field that became required or optional', () => {
      assert.deepEqual(verdicts(compareSchemas(z.object({ a: z.string().optional() }), z.object({ a: z.string() }))), [{ path: 'a', change: 'became-required', backward: false, forward: true }]);
      assert.deepEqual(verdicts(compareSchemas(z.object({ a: z.string() }), z.object({ a: z.string().optional() }))), [{ path: 'a', change: 'became-optional', backward: true, forward: false }]);
    });

    it('a field with a default that becomes required keeps old values valid: zod stored the default', () => {
      const result = compareSchemas(z.object({ a: z.string().default('x') }), z.object({ a: z.string() }));
      assert.deepEqual(verdicts(result), [{ path: 'a', change: 'default-removed', backward: true, forward: true }]);
    });
  });

  describe('paths', () => {
    it('names nested fields with dots', () => {
      const result = compareSchemas(
        z.object({ address: z.object({ city: z.string(), geo: z.object({ lat: z.number() }) }) }),
        z.object({ address: z.object({ city: z.string(), zip: z.string(), geo: z.object({ lat: z.string() }) }) }),
      );
      assert.deepEqual(verdicts(result), [
        { path: 'address.geo.lat', change: 'type-changed', backward: false, forward: false },
        { path: 'address.zip', change: 'required-added', backward: false, forward: true },
      ]);
    });

    it('names array items with [] and tuple positions with their index', () => {
      const items = compareSchemas(z.object({ tags: z.array(z.string()) }), z.object({ tags: z.array(z.number()) }));
      assert.deepEqual(verdicts(items), [{ path: 'tags[]', change: 'type-changed', backward: false, forward: false }]);
      const objects = compareSchemas(z.object({ items: z.array(z.object({ id: z.string() })) }), z.object({ items: z.array(z.object({ id: z.string(), qty: z.int().optional() })) }));
      assert.deepEqual(verdicts(objects), [{ path: 'items[].qty', change: 'optional-added', backward: true, forward: true }]);
      const tuple = compareSchemas(z.object({ pair: z.tuple([z.string(), z.int()]) }), z.object({ pair: z.tuple([z.string(), z.number()]) }));
      assert.deepEqual(verdicts(tuple), [{ path: 'pair[1]', change: 'type-changed', backward: true, forward: false }]);
    });

    it('names record values with .* and quotes field names that are not identifiers', () => {
      const record = compareSchemas(z.object({ scores: z.record(z.string(), z.int()) }), z.object({ scores: z.record(z.string(), z.number()) }));
      assert.deepEqual(verdicts(record), [{ path: 'scores.*', change: 'type-changed', backward: true, forward: false }]);
      const quoted = compareSchemas(z.object({ 'a.b': z.string() }), z.object({ 'a.b': z.number() }));
      assert.deepEqual(verdicts(quoted), [{ path: '["a.b"]', change: 'type-changed', backward: false, forward: false }]);
    });

    it('reports a change at the root with the empty path', () => {
      assert.deepEqual(verdicts(compareSchemas(z.string(), z.number())), [{ path: '', change: 'type-changed', backward: false, forward: false }]);
    });
  });

  describe('types and constraints', () => {
    it('integer to number is backward-compatible, number to integer forward-compatible', () => {
      const widened = compareSchemas(z.object({ n: z.int() }), z.object({ n: z.number() }));
      assert.equal(widened.level, 'backward-compatible');
      assert.deepEqual(widened.changes, [{ path: 'n', change: 'type-changed', from: 'integer', to: 'number', backward: true, forward: false }]);
      const narrowed = compareSchemas(z.object({ n: z.number() }), z.object({ n: z.int() }));
      assert.equal(narrowed.level, 'forward-compatible');
    });

    it('a union that loses a member is forward-compatible; one that gains a member backward-compatible', () => {
      assert.deepEqual(verdicts(compareSchemas(z.union([z.string(), z.number()]), z.string())), [{ path: '', change: 'type-changed', backward: false, forward: true }]);
      assert.deepEqual(verdicts(compareSchemas(z.string(), z.union([z.string(), z.number()]))), [{ path: '', change: 'type-changed', backward: true, forward: false }]);
    });

    it('pairs discriminated union variants by their discriminator', () => {
      const v1 = z.discriminatedUnion('kind', [z.object({ kind: z.literal('text'), body: z.string() }), z.object({ kind: z.literal('image'), url: z.string() })]);
      const v2 = z.discriminatedUnion('kind', [
        z.object({ kind: z.literal('text'), body: z.string(), lang: z.string().optional() }),
        z.object({ kind: z.literal('image'), url: z.string() }),
        z.object({ kind: z.literal('audio'), url: z.string() }),
      ]);
      const result = compareSchemas(v1, v2);
      assert.equal(result.level, 'backward-compatible');
      assert.deepEqual(verdicts(result), [
        { path: '', change: 'variant-added', backward: true, forward: false },
        { path: 'lang', change: 'optional-added', backward: true, forward: true },
      ]);
    });

    it('min and max narrowed are not backward-compatible; widened not forward-compatible', () => {
      const narrowed = compareSchemas(z.object({ name: z.string().min(1) }), z.object({ name: z.string().min(3) }));
      assert.deepEqual(narrowed.changes, [{ path: 'name', change: 'constraint-changed', from: { minLength: 1 }, to: { minLength: 3 }, backward: false, forward: true }]);
      const widened = compareSchemas(z.object({ n: z.number().max(10) }), z.object({ n: z.number().max(20) }));
      assert.deepEqual(verdicts(widened), [{ path: 'n', change: 'constraint-changed', backward: true, forward: false }]);
      const integers = compareSchemas(z.int().positive(), z.int().min(1));
      assert.equal(integers.level, 'identical', 'x > 0 and x ≥ 1 are the same integers');
    });

    it('a pattern added narrows, removed widens, and changed is undecided', () => {
      assert.deepEqual(verdicts(compareSchemas(z.string(), z.string().regex(/^[a-z]+$/))), [{ path: '', change: 'constraint-changed', backward: false, forward: true }]);
      assert.deepEqual(verdicts(compareSchemas(z.email(), z.string())), [{ path: '', change: 'constraint-changed', backward: true, forward: false }]);
      const changed = compareSchemas(z.string().regex(/^a/), z.string().regex(/^b/));
      assert.deepEqual(verdicts(changed), [{ path: '', change: 'undecided', backward: false, forward: false }]);
      assert.match(changed.changes[0].reason!, /Counted as breaking/);
    });

    it('an enum replaced by a constrained string checks each old value against the new constraints', () => {
      const fits = compareSchemas(z.enum(['ab', 'cd']), z.string().min(2));
      assert.deepEqual(verdicts(fits), [{ path: '', change: 'enum-widened', backward: true, forward: false }]);
      const misses = compareSchemas(z.enum(['a', 'cd']), z.string().min(2));
      assert.deepEqual(verdicts(misses), [{ path: '', change: 'enum-widened', backward: false, forward: false }]);
      assert.match(misses.changes[0].reason!, /"a"/);
    });
  });

  describe('$ref and $defs', () => {
    it('follows local references to shared definitions', () => {
      const address1 = z.object({ city: z.string() }).meta({ id: 'Address' });
      const address2 = z.object({ city: z.string(), zip: z.string().optional() }).meta({ id: 'Address' });
      const result = compareSchemas(z.object({ home: address1, work: address1 }), z.object({ home: address2, work: address2 }));
      assert.deepEqual(verdicts(result), [
        { path: 'home.zip', change: 'optional-added', backward: true, forward: true },
        { path: 'work.zip', change: 'optional-added', backward: true, forward: true },
      ]);
    });

    it('an unchanged recursive schema is identical; a changed one is undecided where it recurses', () => {
      const tree = () => {
        const node: z.ZodType = z.object({ name: z.string(), get children() { return z.array(node); } });
        return node;
      };
      assert.equal(compareSchemas(tree(), tree()).level, 'identical');
      const labelled: z.ZodType = z.object({ name: z.string(), label: z.string().optional(), get children() { return z.array(labelled); } });
      const result = compareSchemas(tree(), labelled);
      assert.equal(result.level, 'breaking');
      assert.deepEqual(verdicts(result), [
        { path: 'children[]', change: 'undecided', backward: false, forward: false },
        { path: 'label', change: 'optional-added', backward: true, forward: true },
      ]);
    });

    it('a reference it cannot follow is undecided', () => {
      const result = compareJsonSchemas({ type: 'object', properties: { a: { $ref: 'https://example.com/a.json' } } }, { type: 'object', properties: { a: { type: 'string' } } });
      assert.deepEqual(verdicts(result), [{ path: 'a', change: 'undecided', backward: false, forward: false }]);
    });
  });

  describe('what structure cannot decide', () => {
    it('a refinement changed is undecided and counts as breaking without samples', () => {
      const result = compareSchemas(z.string().refine((s) => s.length > 2), z.string().refine((s) => s.length > 1));
      assert.equal(result.level, 'breaking');
      assert.deepEqual(verdicts(result), [{ path: '', change: 'undecided', backward: false, forward: false }]);
      assert.match(result.changes[0].reason!, /pass `samples`/);
    });

    it('a refinement both versions share is no difference', () => {
      const nonBlank = (s: string) => s.trim() !== '';
      const result = compareSchemas(z.object({ name: z.string().refine(nonBlank) }), z.object({ name: z.string().refine(nonBlank), nick: z.string().optional() }));
      assert.deepEqual(verdicts(result), [{ path: 'nick', change: 'optional-added', backward: true, forward: true }]);
    });

    it('a transform, a coercion or a date, which JSON Schema shows as something else, is undecided', () => {
      const cases: Array<[z.ZodType, z.ZodType]> = [
        [z.object({ field: z.string().transform((s) => new Date(s)) }), z.object({ field: z.string() })],
        [z.object({ field: z.number() }), z.object({ field: z.coerce.number() })],
        [z.object({ field: z.date() }), z.object({ field: z.string() })],
      ];
      for (const [from, to] of cases) {
        assert.deepEqual(verdicts(compareSchemas(from, to)), [{ path: 'field', change: 'undecided', backward: false, forward: false }]);
      }
    });

    it('samples decide undecided changes: every sample valid under the old schema parses under the new', () => {
      const from = z.object({ code: z.string().refine((s) => s.length >= 3) });
      const to = z.object({ code: z.string().refine((s) => s.length >= 2) });
      const result = compareSchemas(from, to, { samples: [{ code: 'abc' }, { code: 'abcd' }, { code: 'ab' }] });
      assert.equal(result.level, 'backward-compatible');
      assert.deepEqual(verdicts(result), [{ path: 'code', change: 'undecided', backward: true, forward: false }]);
      assert.match(result.changes[0].reason!, /sample 2 is valid under the new schema and fails under the old at `code`/);
    });

    it('a sample that fails decides against; none valid under a schema decides nothing', () => {
      const from = z.string().refine((s) => s.length >= 2);
      const to = z.string().refine((s) => s.length >= 3);
      assert.equal(compareSchemas(from, to, { samples: ['abc', 'ab'] }).level, 'forward-compatible');
      const none = compareSchemas(from, to, { samples: [1, null] });
      assert.equal(none.level, 'breaking');
      assert.match(none.changes[0].reason!, /no sample is valid under the old schema/);
    });

    it('a sample refuting what the structure found compatible is reported as sample-failed', () => {
      const result = compareSchemas(z.object({ a: z.string() }), z.object({ a: z.string(), b: z.number().optional() }), { samples: [{ a: 'x', b: 'not a number' }] });
      assert.equal(result.level, 'forward-compatible');
      assert.deepEqual(verdicts(result), [
        { path: 'b', change: 'optional-added', backward: true, forward: true },
        { path: 'b', change: 'sample-failed', backward: false, forward: true },
      ]);
    });
  });

  describe('compareJsonSchemas', () => {
    it('gives the same answer on stored JSON Schemas as compareSchemas on the zod schemas', () => {
      const v1 = z.object({ name: z.string(), age: z.string(), tier: z.enum(['a', 'b']) });
      const v2 = z.object({ fullName: z.string(), age: z.number(), tier: z.enum(['a', 'b', 'c']), tags: z.array(z.string()).default([]) });
      assert.deepEqual(compareJsonSchemas(stored(v1), stored(v2)), compareSchemas(v1, v2));
    });

    it('cannot see what the JSON Schema does not show: z.date() is written as any value', () => {
      const result = compareJsonSchemas(stored(z.object({ at: z.date() })), stored(z.object({ at: z.string() })));
      assert.deepEqual(verdicts(result), [{ path: 'at', change: 'type-changed', backward: false, forward: true }]);
    });

    it('reads keywords it does not follow as undecided', () => {
      const result = compareJsonSchemas({ type: 'object', if: { required: ['a'] }, then: { required: ['b'] } }, { type: 'object' });
      assert.deepEqual(verdicts(result), [{ path: '', change: 'undecided', backward: false, forward: false }]);
      assert.match(result.changes[0].reason!, /`if`/);
    });
  });

  describe('arguments', () => {
    it('refuses what is not a JSON Schema object or a zod schema with a TypeError', () => {
      assert.throws(() => compareJsonSchemas(null as unknown as object, {}), { name: 'TypeError', message: 'Expected `from` to be a JSON Schema object, got `null`' });
      assert.throws(() => compareJsonSchemas({}, [] as unknown as object), { name: 'TypeError', message: 'Expected `to` to be a JSON Schema object, got `[]` (array)' });
      assert.throws(() => compareSchemas({ type: 'string' } as unknown as z.ZodType, z.string()), { name: 'TypeError', message: 'Expected `from` to be a zod schema, got `{"type":"string"}` (object)' });
    });

    it('refuses options of the wrong shape', () => {
      assert.throws(() => compareSchemas(z.string(), z.string(), { samples: 'x' as unknown as unknown[] }), { name: 'TypeError', message: 'Expected `samples` to be an array of sample values, got `"x"` (string)' });
      assert.throws(() => compareSchemas(z.string(), z.string(), { sample: [] } as unknown as object), { name: 'TypeError', message: /Unknown option `sample`/ });
    });
  });

  it('CHANGE_KINDS lists every kind once', () => {
    assert.equal(new Set(CHANGE_KINDS).size, CHANGE_KINDS.length);
  });
});
