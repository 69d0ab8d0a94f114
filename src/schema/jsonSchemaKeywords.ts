/** The JSON Schema keywords the comparison knows, by what it does with them. */

/** The JSON types; `integer` is read as a number that must be whole. */
export type Kind = 'null' | 'boolean' | 'string' | 'number' | 'array' | 'object';

export const KINDS: readonly Kind[] = ['null', 'boolean', 'string', 'number', 'array', 'object'];

/** Marks what z.toJSONSchema cannot show (refinements, transforms, dates …); see comparableJsonSchema. */
export const OPAQUE_KEYWORD = 'x-llmstate-opaque';

/** Keywords that constrain one kind of value, by that kind. */
export const KIND_KEYWORDS: Readonly<Record<Kind, ReadonlySet<string>>> = {
  null: new Set(),
  boolean: new Set(),
  string: new Set(['minLength', 'maxLength', 'pattern', 'format', 'contentEncoding', 'contentMediaType']),
  number: new Set(['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf']),
  array: new Set(['items', 'prefixItems', 'minItems', 'maxItems', 'uniqueItems', 'contains', 'minContains', 'maxContains']),
  object: new Set(['properties', 'required', 'additionalProperties', 'propertyNames', 'minProperties', 'maxProperties', 'dependentRequired']),
};

export const ALL_KIND_KEYWORDS: ReadonlySet<string> = new Set(Object.values(KIND_KEYWORDS).flatMap((set) => [...set]));

/** Keywords that say which kinds and values a schema accepts, or hold schemas for others to use. */
export const STRUCTURE_KEYWORDS: ReadonlySet<string> = new Set(['type', 'enum', 'const', 'anyOf', 'oneOf', 'allOf', 'not', '$ref', 'default', '$defs', 'definitions']);

/**
 * Keywords that constrain values in ways the comparison does not follow: a schema using one is
 * undecided.
 */
export const UNFOLLOWED_KEYWORDS: ReadonlySet<string> = new Set([
  'if', 'then', 'else', 'patternProperties', 'dependentSchemas', 'unevaluatedItems', 'unevaluatedProperties', 'additionalItems',
  '$id', '$anchor', '$dynamicRef', '$dynamicAnchor', '$recursiveRef', '$recursiveAnchor', 'dependencies',
]);

/**
 * Whether a keyword only describes: `title`, `description`, `examples`, `$schema`, and every keyword
 * JSON Schema does not define, such as zod's `.meta()` fields, which validators ignore. `default` is
 * not one: zod fills it in, so it changes what is stored.
 */
export function isAnnotation(keyword: string): boolean {
  return keyword !== OPAQUE_KEYWORD && !ALL_KIND_KEYWORDS.has(keyword) && !STRUCTURE_KEYWORDS.has(keyword) && !UNFOLLOWED_KEYWORDS.has(keyword);
}

/** Keywords whose value is one schema, a list of schemas, or a map of names to schemas. */
export const SCHEMA_KEYWORDS: ReadonlySet<string> = new Set(['items', 'additionalProperties', 'propertyNames', 'not', 'contains', 'if', 'then', 'else', 'unevaluatedItems', 'unevaluatedProperties', 'additionalItems']);
export const SCHEMA_LIST_KEYWORDS: ReadonlySet<string> = new Set(['anyOf', 'oneOf', 'allOf', 'prefixItems']);
export const SCHEMA_MAP_KEYWORDS: ReadonlySet<string> = new Set(['properties', 'patternProperties', 'dependentSchemas', '$defs', 'definitions']);
