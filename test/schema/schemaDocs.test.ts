import assert from 'node:assert/strict';
import { z } from 'zod';
import type { SchemaBinding, StoredSchema } from '../../src/schema/registryRecords.js';
import { schemaDocs } from '../../src/schema/schemaDocs.js';

const AT = Date.UTC(2026, 0, 2, 3, 4, 5);

function version(name: string, number: string, jsonSchema: Record<string, unknown>, description?: string): StoredSchema {
  return { name, version: number, hash: `${number.replaceAll('.', '')}`.padEnd(64, 'a'), jsonSchema, registeredAt: AT, ...(description === undefined ? {} : { description }) };
}

const PROFILE_1 = version('profile', '1.0.0', {
  type: 'object',
  properties: { name: { type: 'string' }, age: { type: 'string' } },
  required: ['name', 'age'],
});

const PROFILE_2 = version(
  'profile',
  '2.0.0',
  {
    type: 'object',
    properties: {
      fullName: { type: 'string', minLength: 1, maxLength: 80, description: 'Given and family name' },
      age: { type: 'integer', minimum: 0, maximum: 9007199254740991 },
      email: { type: 'string', format: 'email', pattern: '^\\S+@\\S+$' },
      tags: { default: [], type: 'array', items: { type: 'string' } },
      address: {
        type: 'object',
        properties: { city: { type: 'string' }, zip: { type: ['string', 'null'], pattern: '^[0-9]{5}$' } },
        required: ['city', 'zip'],
      },
      plan: { type: 'string', enum: ['free', 'pro'], default: 'free' },
    },
    required: ['fullName', 'age', 'address'],
  },
  'Splits nothing, renames `name`.',
);

const SETTINGS = version('settings', '1.0.0', { type: 'object', properties: { theme: { const: 'dark' } }, required: ['theme'], additionalProperties: false });

const BINDINGS: SchemaBinding[] = [{ schema: 'profile', scopeKind: 'agent', keyPrefix: 'profile', boundAt: AT }];

const GOLDEN = `# Schemas

Generated from the JSON Schema that the store keeps for each version: 2 schemas, 3 versions.

## Contents

- [profile](#profile): [2.0.0](#profile200) (current), [1.0.0](#profile100)
- [settings](#settings): [1.0.0](#settings100) (current)

## profile

Bound to the keys below: writes there are validated against version 2.0.0.

- agent scopes, keys starting with \`profile\`

### \`profile@2.0.0\`

Current version, registered 2026-01-02T03:04:05.000Z; hash \`200aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\`.

Splits nothing, renames \\\`name\\\`.

| Field | Type | Required | Default | Description |
| --- | --- | --- | --- | --- |
| \`fullName\` | string, length 1 to 80 | required |  | Given and family name |
| \`age\` | integer, ≥ 0 | required |  |  |
| \`email\` | string (email) | optional |  |  |
| \`tags\` | array of string | optional | \`[]\` |  |
| \`address\` | object | required |  |  |
| \`address.city\` | string | required |  |  |
| \`address.zip\` | string, nullable, pattern \`^[0-9]{5}$\` | required |  |  |
| \`plan\` | one of \`"free"\`, \`"pro"\` | optional | \`"free"\` |  |

### \`profile@1.0.0\`

Registered 2026-01-02T03:04:05.000Z; hash \`100aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\`.

| Field | Type | Required | Default | Description |
| --- | --- | --- | --- | --- |
| \`name\` | string | required |  |  |
| \`age\` | string | required |  |  |

## settings

Not bound: no write is validated against it.

### \`settings@1.0.0\`

Current version, registered 2026-01-02T03:04:05.000Z; hash \`100aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\`.

| Field | Type | Required | Default | Description |
| --- | --- | --- | --- | --- |
| \`theme\` | \`"dark"\` | required |  |  |
`;

/** The rows of the first fields table in a document, as arrays of cells (pipes inside cells still escaped). */
function tableRows(markdown: string): string[][] {
  return markdown
    .split('\n')
    .filter((line) => line.startsWith('| ') && !line.startsWith('| Field') && !line.startsWith('| ---'))
    .map((line) =>
      line
        .slice(2, -2)
        .split(/(?<!\\) \| /)
        .map((cell) => cell.trim()),
    );
}

function docOf(jsonSchema: Record<string, unknown>, description?: string): string {
  return schemaDocs([{ name: 'shape', versions: [version('shape', '1.0.0', jsonSchema, description)], bindings: [] }]);
}

describe('schemaDocs', () => {
  it('documents a small registry exactly: title, contents, bindings, then each version newest first with its fields', () => {
    const registry = [
      { name: 'profile', versions: [PROFILE_1, PROFILE_2], bindings: BINDINGS },
      { name: 'settings', versions: [SETTINGS], bindings: [] },
    ];
    assert.equal(schemaDocs(registry), GOLDEN);
    // The same registry, read back from its stored JSON, gives the same text.
    assert.equal(schemaDocs(JSON.parse(JSON.stringify(registry)) as typeof registry), GOLDEN);
  });

  it('says so when nothing is registered, and leaves out a schema without versions', () => {
    const empty = '# Schemas\n\nNo schema is registered.\n';
    assert.equal(schemaDocs([]), empty);
    assert.equal(schemaDocs([{ name: 'ghost', versions: [], bindings: [] }]), empty);
  });

  it('describes every kind of binding', () => {
    const docs = schemaDocs([
      {
        name: 'note',
        versions: [version('note', '1.0.0', { type: 'string' })],
        bindings: [
          { schema: 'note', scopeKind: 'workflow', boundAt: AT },
          { schema: 'note', keyPrefix: 'cfg.', boundAt: AT },
          { schema: 'note', boundAt: AT },
        ],
      },
    ]);
    assert.match(docs, /^- workflow scopes, every key$/m);
    assert.match(docs, /^- every scope, keys starting with `cfg\.`$/m);
    assert.match(docs, /^- every scope, every key$/m);
  });

  it('a value that is not an object is one row, (root)', () => {
    assert.deepEqual(tableRows(docOf({ type: 'array', items: { type: 'number' }, minItems: 1 })), [['`(root)`', 'array of number, at least 1 item', 'required', '', '']]);
  });

  it('escapes pipes, backticks and markup in keys, descriptions, values and patterns, so that no row breaks and no markup is added', () => {
    const docs = docOf(
      {
        type: 'object',
        properties: {
          'a|b': { type: 'string', description: 'pipe | and `tick` and *star* and <b>tag</b> and [link](x)' },
          'c`d': { type: 'string', pattern: '^(a|b)`+$', default: 'x|`y`' },
          e: { enum: ['x|y', 'back`tick'], description: 'line one\nline two\u202e' },
        },
      },
      '# not a heading\n- nor a list',
    );
    assert.match(docs, /^\\# not a heading - nor a list$/m);
    const rows = tableRows(docs);
    assert.equal(rows.length, 3);
    for (const row of rows) assert.equal(row.length, 5, `five cells: ${row.join(' ‖ ')}`);
    assert.deepEqual(rows[0], ['`["a\\|b"]`', 'string', 'optional', '', 'pipe \\| and \\`tick\\` and \\*star\\* and \\<b>tag\\</b> and \\[link\\](x)']);
    assert.deepEqual(rows[1], ['``["c`d"]``', 'string, pattern ``^(a\\|b)`+$``', 'optional', '``"x\\|`y`"``', '']);
    assert.deepEqual(rows[2], ['`e`', 'one of `"x\\|y"`, ``"back`tick"``', 'optional', '', 'line one line two\\\\u202e']);
  });

  it('handles anyOf and oneOf: scalar unions on one line, object members as shapes with their fields', () => {
    const rows = tableRows(
      docOf({
        type: 'object',
        properties: {
          id: { anyOf: [{ type: 'string', minLength: 1 }, { type: 'number' }, { type: 'null' }] },
          payment: {
            oneOf: [
              { type: 'object', properties: { kind: { const: 'card' }, last4: { type: 'string' } }, required: ['kind', 'last4'] },
              { type: 'object', properties: { kind: { const: 'bank' }, iban: { type: 'string' } }, required: ['kind'] },
            ],
          },
          nickname: { anyOf: [{ type: 'object', properties: { short: { type: 'string' } } }, { type: 'null' }] },
        },
        required: ['payment'],
      }),
    );
    assert.deepEqual(rows, [
      ['`id`', '(string, length ≥ 1) or number, nullable', 'optional', '', ''],
      ['`payment`', 'object (shape 1) or object (shape 2)', 'required', '', ''],
      ['`payment.kind`', '`"card"`', 'required (shape 1)', '', ''],
      ['`payment.last4`', 'string', 'required (shape 1)', '', ''],
      ['`payment.kind`', '`"bank"`', 'required (shape 2)', '', ''],
      ['`payment.iban`', 'string', 'optional (shape 2)', '', ''],
      ['`nickname`', 'object, nullable', 'optional', '', ''],
      ['`nickname.short`', 'string', 'optional', '', ''],
    ]);
  });

  it('follows local $ref into $defs, and ends a schema that contains itself at the field that repeats', () => {
    const rows = tableRows(
      docOf({
        type: 'object',
        properties: { home: { $ref: '#/$defs/Address', description: 'Where they live' }, tree: { $ref: '#/$defs/Node' }, elsewhere: { $ref: 'https://example.com/x.json' } },
        required: ['home'],
        $defs: {
          Address: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
          Node: { type: 'object', properties: { value: { type: 'number' }, children: { type: 'array', items: { $ref: '#/$defs/Node' } } } },
        },
      }),
    );
    assert.deepEqual(rows, [
      ['`home`', 'object', 'required', '', 'Where they live'],
      ['`home.city`', 'string', 'required', '', ''],
      ['`tree`', 'object', 'optional', '', ''],
      ['`tree.value`', 'number', 'optional', '', ''],
      ['`tree.children`', 'array of recursive', 'optional', '', ''],
      ['`tree.children[]`', 'recursive, as `tree`', 'each item', '', ''],
      ['`elsewhere`', 'defined by `https://example.com/x.json`', 'optional', '', ''],
    ]);
  });

  it('flattens arrays of objects, records, tuples and intersections', () => {
    const jsonSchema = z.toJSONSchema(
      z.object({
        items: z.array(z.object({ sku: z.string(), qty: z.number().int().positive() })).min(1).max(5),
        scores: z.record(z.string(), z.object({ best: z.number() })),
        counts: z.record(z.string(), z.number()),
        pair: z.tuple([z.string(), z.object({ ok: z.boolean() })]),
        both: z.intersection(z.object({ a: z.string() }), z.object({ b: z.number().optional() })),
      }),
      { io: 'input' },
    ) as Record<string, unknown>;
    assert.deepEqual(tableRows(docOf(jsonSchema)), [
      ['`items`', 'array of object, 1 to 5 items', 'required', '', ''],
      ['`items[]`', 'object', 'each item', '', ''],
      ['`items[].sku`', 'string', 'required', '', ''],
      ['`items[].qty`', 'integer, > 0', 'required', '', ''],
      ['`scores`', 'record of object', 'required', '', ''],
      ['`scores.*`', 'object', 'each value', '', ''],
      ['`scores.*.best`', 'number', 'required', '', ''],
      ['`counts`', 'record of number', 'required', '', ''],
      ['`pair`', 'tuple (string, object)', 'required', '', ''],
      ['`pair[0]`', 'string', 'required', '', ''],
      ['`pair[1]`', 'object', 'required', '', ''],
      ['`pair[1].ok`', 'boolean', 'required', '', ''],
      ['`both`', 'object', 'required', '', ''],
      ['`both.a`', 'string', 'required', '', ''],
      ['`both.b`', 'number', 'optional', '', ''],
    ]);
  });

  it('shows numeric bounds, formats, deprecation and titles', () => {
    const rows = tableRows(
      docOf({
        type: 'object',
        properties: {
          ratio: { type: 'number', exclusiveMinimum: 0, maximum: 1, multipleOf: 0.5 },
          when: { type: 'string', format: 'date-time', title: 'When it happened' },
          old: { type: 'boolean', deprecated: true, description: 'Use `new`.' },
          code: { type: 'string', minLength: 3, maxLength: 3 },
          labels: { type: 'array', items: { type: 'string' }, uniqueItems: true, maxItems: 1 },
        },
      }),
    );
    assert.deepEqual(rows, [
      ['`ratio`', 'number, > 0, ≤ 1, multiple of 0.5', 'optional', '', ''],
      ['`when`', 'string (date-time)', 'optional', '', 'When it happened'],
      ['`old`', 'boolean', 'optional', '', 'Deprecated. Use \\`new\\`.'],
      ['`code`', 'string, length 3', 'optional', '', ''],
      ['`labels`', 'array of string, at most 1 item, unique items', 'optional', '', ''],
    ]);
  });

  it('does not crash on unknown keywords, odd values or schemas that are not JSON Schema at all', () => {
    const odd: Record<string, unknown>[] = [
      { type: 'object', properties: { a: { 'x-vendor': { deep: [1, 2] }, if: { type: 'string' }, then: {}, type: 'string' } } },
      { type: 7, properties: [1], anyOf: 'no', required: 'a', items: 3 },
      { type: 'object', properties: { nothing: false, anything: true, not: { not: { type: 'string' } } } },
      { allOf: [{ $ref: '#/$defs/Loop' }], $defs: { Loop: { allOf: [{ $ref: '#/$defs/Loop' }] } } },
      { $ref: '#' },
      { $ref: '#/$defs/missing' },
      { properties: { self: { $ref: '#' } } },
      {},
    ];
    for (const jsonSchema of odd) {
      const docs = docOf(jsonSchema);
      assert.ok(tableRows(docs).length >= 1, JSON.stringify(jsonSchema));
    }
    assert.deepEqual(tableRows(docOf(odd[2])), [
      ['`nothing`', 'nothing (no value is valid)', 'optional', '', ''],
      ['`anything`', 'any', 'optional', '', ''],
      ['`not`', 'anything but string', 'optional', '', ''],
    ]);
    assert.deepEqual(tableRows(docOf(odd[6])), [['`self`', 'recursive, as `(root)`', 'optional', '', '']]);
  });

  it('anchors repeated headings as GitHub does', () => {
    const docs = schemaDocs([
      { name: 'Contents', versions: [version('Contents', '1.0.0', { type: 'string' })], bindings: [] },
      { name: 'contents', versions: [version('contents', '1.0.0', { type: 'string' })], bindings: [] },
    ]);
    assert.match(docs, /^- \[Contents\]\(#contents-1\): \[1\.0\.0\]\(#contents100\) \(current\)$/m);
    assert.match(docs, /^- \[contents\]\(#contents-2\): \[1\.0\.0\]\(#contents100-1\) \(current\)$/m);
  });
});
