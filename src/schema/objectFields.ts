import type { SchemaChange } from './schemaChange.js';
import { followRefs, shapeOf, markersOf, type Branch } from './jsonSchemaShape.js';
import type { JsonSchema, SchemaDocument } from './SchemaDocument.js';

/** What an object does with fields its `properties` do not name, read as zod writes it. */
export type Extras =
  /** No `additionalProperties`: z.object, which accepts other fields and drops them, so none is stored. */
  | { model: 'strip' }
  /** `additionalProperties: {}`: z.looseObject, which keeps them, whatever their values. */
  | { model: 'open' }
  /** `additionalProperties: false`: z.strictObject, which refuses them. */
  | { model: 'closed' }
  /** A schema: z.record or .catchall(), which keeps them when their values fit it. */
  | { model: 'schema'; schema: JsonSchema };

/** The fields of an object branch, as the comparison asks about them. */
export interface ObjectFields {
  /** The named fields, in the schema's order. */
  names: string[];
  has(name: string): boolean;
  schema(name: string): JsonSchema;
  /** Whether a value must give the field (`required`). */
  required(name: string): boolean;
  /** Whether the field has a `default`, which zod fills in when it is missing. */
  defaulted(name: string): boolean;
  /** Whether every value zod parses with this schema has the field: required or defaulted. */
  stored(name: string): boolean;
  extras: Extras;
}

export function objectFields(branch: Branch, document: SchemaDocument): ObjectFields {
  const properties = (branch.keywords.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((branch.keywords.required ?? []) as string[]);
  const defaulted = (name: string) => hasDefault(properties[name], document);
  return {
    names: Object.keys(properties),
    has: (name) => Object.hasOwn(properties, name),
    schema: (name) => properties[name],
    required: (name) => required.has(name),
    defaulted,
    stored: (name) => required.has(name) || defaulted(name),
    extras: extrasOf(branch.keywords.additionalProperties, document),
  };
}

function extrasOf(additional: unknown, document: SchemaDocument): Extras {
  if (additional === undefined) return { model: 'strip' };
  if (additional === false) return { model: 'closed' };
  const followed = followRefs(additional as JsonSchema, document);
  const shape = followed === undefined ? undefined : shapeOf(followed.target, document);
  if (shape?.form === 'any' && markersOf(followed!.target).length === 0) return { model: 'open' };
  if (shape?.form === 'never') return { model: 'closed' };
  return { model: 'schema', schema: additional as JsonSchema };
}

function hasDefault(schema: JsonSchema | undefined, document: SchemaDocument): boolean {
  if (schema === undefined || typeof schema === 'boolean') return false;
  if ('default' in schema) return true;
  const followed = followRefs(schema, document);
  return followed !== undefined && typeof followed.target === 'object' && 'default' in followed.target;
}

/**
 * Pairs each required field removed with a required field added beside it with the same schema, in
 * the schemas' order, each used once: old name → new name. Such a pair reads as one rename.
 */
export function pairRenames(removed: ReadonlyMap<string, SchemaChange>, added: ReadonlyMap<string, SchemaChange>, sameSchema: (oldName: string, newName: string) => boolean): Map<string, string> {
  const renames = new Map<string, string>();
  const free = [...added].filter(([, change]) => change.change === 'required-added').map(([name]) => name);
  for (const [oldName, change] of removed) {
    if (change.change !== 'required-removed') continue;
    const index = free.findIndex((newName) => sameSchema(oldName, newName));
    if (index < 0) continue;
    renames.set(oldName, free[index]);
    free.splice(index, 1);
  }
  return renames;
}
