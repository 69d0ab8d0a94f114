import { z } from 'zod';
import { checkOptions, describeOption } from '../checkOptions.js';
import { comparableJsonSchema, FunctionIds } from './comparableJsonSchema.js';
import { decideBySamples, sampleEvidence } from './sampleVerdict.js';
import { SchemaComparison } from './SchemaComparison.js';
import { SchemaDocument } from './SchemaDocument.js';
import type { ChangeKind, Compatibility, CompatibilityLevel, SchemaChange } from './schemaChange.js';

export { CHANGE_KINDS } from './schemaChange.js';
export type { ChangeKind, Compatibility, CompatibilityLevel, SchemaChange } from './schemaChange.js';

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

/**
 * Breaking whatever the other direction allows (DESIGN §9): after a required field is added, removed or
 * renamed, the records one version writes lack what the other requires, so one side of every deploy or
 * rollback cannot read the other's records. Each change's own `backward` and `forward` still say exactly
 * which direction holds. A type change is breaking when neither direction holds; a widening (an integer
 * becoming any number) is not.
 */
const ALWAYS_BREAKING: ReadonlySet<ChangeKind> = new Set<ChangeKind>(['required-added', 'required-removed', 'renamed?']);

function levelOf(changes: readonly SchemaChange[]): CompatibilityLevel {
  if (changes.length === 0) return 'identical';
  if (changes.some((change) => ALWAYS_BREAKING.has(change.change))) return 'breaking';
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
