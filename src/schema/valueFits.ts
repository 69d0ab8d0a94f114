import { acceptsValue } from './compareScalars.js';
import { followRefs, kindOfValue, shapeOf, type Branch } from './jsonSchemaShape.js';
import type { JsonSchema, SchemaDocument } from './SchemaDocument.js';

/** Deeper than this, a value is not checked: the answer is undefined. */
const MAX_DEPTH = 64;

/** Array and object keywords this check does not run; a schema with one gives no answer. */
const UNCHECKED = ['uniqueItems', 'contains', 'minContains', 'maxContains', 'minProperties', 'maxProperties', 'dependentRequired'];

/**
 * Whether a schema accepts a value: undefined when it cannot be told here (a refinement, a format
 * without a pattern, a keyword this check does not run). Used for defaults, which zod stores as given
 * without parsing them, so the other version must accept them as they are.
 */
export function valueFits(value: unknown, schema: JsonSchema, document: SchemaDocument, depth = 0): boolean | undefined {
  if (depth > MAX_DEPTH) return undefined;
  const followed = followRefs(schema, document);
  if (followed === undefined || followed.siblings.length > 0) return undefined;
  const shape = shapeOf(followed.target, document);
  if (shape.form === 'any') return true;
  if (shape.form === 'never') return false;
  if (shape.form === 'opaque') return undefined;
  return some(shape.branches.map((branch) => branchFits(value, branch, document, depth)));
}

function branchFits(value: unknown, branch: Branch, document: SchemaDocument, depth: number): boolean | undefined {
  if (kindOfValue(value) !== branch.kind) return false;
  const verdict = branch.kind === 'array' ? arrayFits(value as unknown[], branch, document, depth)
    : branch.kind === 'object' ? objectFits(value as Record<string, unknown>, branch, document, depth)
    : acceptsValue(branch, value);
  // A refinement may still refuse what the structure accepts.
  return verdict === true && branch.markers.length > 0 ? undefined : verdict;
}

function arrayFits(value: unknown[], branch: Branch, document: SchemaDocument, depth: number): boolean | undefined {
  const k = branch.keywords;
  if (typeof k.minItems === 'number' && value.length < k.minItems) return false;
  if (typeof k.maxItems === 'number' && value.length > k.maxItems) return false;
  if (UNCHECKED.some((keyword) => keyword in k)) return undefined;
  const prefix = (k.prefixItems ?? []) as JsonSchema[];
  const items = (k.items ?? true) as JsonSchema;
  return every(value.map((item, index) => valueFits(item, prefix[index] ?? items, document, depth + 1)));
}

function objectFits(value: Record<string, unknown>, branch: Branch, document: SchemaDocument, depth: number): boolean | undefined {
  const k = branch.keywords;
  const properties = (k.properties ?? {}) as Record<string, JsonSchema>;
  const required = (k.required ?? []) as string[];
  if (required.some((name) => !Object.hasOwn(value, name))) return false;
  if (UNCHECKED.some((keyword) => keyword in k)) return undefined;
  const verdicts = Object.entries(value).map(([name, member]) => {
    const nameFits = k.propertyNames === undefined ? true : valueFits(name, k.propertyNames as JsonSchema, document, depth + 1);
    if (Object.hasOwn(properties, name)) return every([nameFits, valueFits(member, properties[name], document, depth + 1)]);
    // No additionalProperties: a z.object, which accepts other fields and drops them.
    if (k.additionalProperties === undefined) return nameFits;
    return every([nameFits, valueFits(member, k.additionalProperties as JsonSchema, document, depth + 1)]);
  });
  return every(verdicts);
}

function every(verdicts: Array<boolean | undefined>): boolean | undefined {
  if (verdicts.includes(false)) return false;
  return verdicts.includes(undefined) ? undefined : true;
}

function some(verdicts: Array<boolean | undefined>): boolean | undefined {
  if (verdicts.includes(true)) return true;
  return verdicts.includes(undefined) ? undefined : false;
}
