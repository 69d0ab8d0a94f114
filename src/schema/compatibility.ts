import { z } from 'zod';
import { checkOptions, describeOption } from '../checkOptions.js';
import { comparableJsonSchema, FunctionIds } from './comparableJsonSchema.js';
import { decideBySamples, sampleEvidence } from './sampleVerdict.js';
import { SchemaComparison } from './SchemaComparison.js';
import { SchemaDocument } from './SchemaDocument.js';

/**
 * How a new version of a schema relates to the old one (DESIGN §9):
 * - `identical`: no difference in what they accept or fill in.
 * - `backward-compatible`: every value valid under the old version is valid under the new one. The
 *   changes may be forward-compatible too; their `forward` flags say.
 * - `forward-compatible`: every value valid under the new version is valid under the old one, not
 *   the reverse.
 * - `breaking`: neither is proven.
 */
export type CompatibilityLevel = 'identical' | 'backward-compatible' | 'forward-compatible' | 'breaking';

/** Every kind of change a comparison reports; docs/schemas-compatibility.md gives each one's verdict. */
export const CHANGE_KINDS = [
  'optional-added',
  'optional-removed',
  'required-added',
  'required-removed',
  'renamed?',
  'became-required',
  'became-optional',
  'type-changed',
  'enum-narrowed',
  'enum-widened',
  'nullable-added',
  'nullable-removed',
  'default-added',
  'default-removed',
  'default-changed',
  'default-invalid',
  'constraint-changed',
  'variant-added',
  'variant-removed',
  'undecided',
  'sample-failed',
] as const;

export type ChangeKind = (typeof CHANGE_KINDS)[number];

export interface SchemaChange {
  /**
   * Where: `''` for the root, `address.city`, `tags[]` for any item of an array, `pair[0]` for one of
   * a tuple, `meta.*` for the values of a record, `labels["a.b"]` for a name that is not an identifier.
   */
  path: string;
  change: ChangeKind;
  /** The old side: a type, the enum values, a default, the constraint, the field's schema, the old name. */
  from?: unknown;
  /** The new side, likewise. */
  to?: unknown;
  /** Whether old data still passes the new schema, for this change. True only where proven. */
  backward: boolean;
  /** Whether new data still passes the old schema, for this change. True only where proven. */
  forward: boolean;
  /** Why the comparison could not decide, how samples decided, or what a sample showed. */
  reason?: string;
}

export interface Compatibility {
  level: CompatibilityLevel;
  changes: SchemaChange[];
}

export interface CompareSchemasOptions {
  /**
   * Values to decide what the structure cannot: each one valid under `from` must parse under `to` for
   * the undecided changes to count as backward-compatible, and each one valid under `to` must parse
   * under `from` for them to count as forward-compatible. A sample that refutes a verdict the structure
   * reached is reported as a `sample-failed` change.
   */
  samples?: readonly unknown[];
}

const FIELDS = {
  samples: [z.array(z.unknown()).readonly(), 'an array of sample values'],
} as const;

/**
 * Compares two JSON Schemas as `z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' })`
 * writes them, field by field. Each value is taken to be stored as zod parses it: an object without
 * `additionalProperties` (a z.object) drops the fields it does not name, and a field with a `default`
 * is always present. `{}` is read as any value; an undecided change counts as breaking.
 *
 * @throws {TypeError} when `from` or `to` is not an object.
 * @example
 * compareJsonSchemas(z.toJSONSchema(v1, { io: 'input' }), z.toJSONSchema(v2, { io: 'input' })).level
 */
export function compareJsonSchemas(from: object, to: object): Compatibility {
  checkJsonSchema(from, 'from');
  checkJsonSchema(to, 'to');
  const changes = structuralChanges(from as Record<string, unknown>, to as Record<string, unknown>);
  return summarise(changes.map((change) => (change.change === 'undecided' ? { ...change, reason: `${change.reason}. Counted as breaking: no sample decided it` } : change)));
}

/**
 * Compares two zod schemas: structurally, as {@link compareJsonSchemas} does, with what JSON Schema
 * cannot show (refinements, transforms, dates, coercion …) marked, so that a difference there is
 * undecided rather than missed. A refinement both schemas share (the same function) is no difference.
 * Undecided changes are decided by `samples`; without them they count as breaking.
 *
 * @throws {TypeError} when `from` or `to` is not a zod schema, or the options are of the wrong shape.
 * @example
 * compareSchemas(z.object({ name: z.string() }), z.object({ name: z.string(), tags: z.array(z.string()).optional() }))
 * // → { level: 'backward-compatible', changes: [{ path: 'tags', change: 'optional-added', backward: true, forward: true, … }] }
 */
export function compareSchemas(from: z.ZodType, to: z.ZodType, options: CompareSchemasOptions = {}): Compatibility {
  checkZodSchema(from, 'from');
  checkZodSchema(to, 'to');
  const { samples } = checkOptions(options, FIELDS);
  const ids = new FunctionIds();
  const changes = structuralChanges(comparableJsonSchema(from, 'from', ids), comparableJsonSchema(to, 'to', ids));
  if (samples === undefined) {
    return summarise(changes.map((change) => (change.change === 'undecided' ? { ...change, reason: `${change.reason}. Counted as breaking: pass \`samples\` to decide it` } : change)));
  }
  return summarise(decideBySamples(changes, sampleEvidence(from, to, samples), sampleEvidence(to, from, samples)));
}

function structuralChanges(from: Record<string, unknown>, to: Record<string, unknown>): SchemaChange[] {
  const comparison = new SchemaComparison(new SchemaDocument(from), new SchemaDocument(to));
  comparison.compare(from, to, '');
  return [...comparison.changes];
}

function summarise(changes: SchemaChange[]): Compatibility {
  return { level: levelOf(changes), changes };
}

function levelOf(changes: readonly SchemaChange[]): CompatibilityLevel {
  if (changes.length === 0) return 'identical';
  if (changes.every((change) => change.backward)) return 'backward-compatible';
  if (changes.every((change) => change.forward)) return 'forward-compatible';
  return 'breaking';
}

function checkJsonSchema(value: unknown, name: string): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`Expected \`${name}\` to be a JSON Schema object, got ${describeOption(value)}`);
  }
}

function checkZodSchema(value: unknown, name: string): void {
  if (typeof value !== 'object' || value === null || !('_zod' in value) || typeof (value as z.ZodType).safeParse !== 'function') {
    throw new TypeError(`Expected \`${name}\` to be a zod schema, got ${describeOption(value)}`);
  }
}
