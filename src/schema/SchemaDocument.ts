import { isAnnotation, SCHEMA_KEYWORDS, SCHEMA_LIST_KEYWORDS, SCHEMA_MAP_KEYWORDS } from './jsonSchemaKeywords.js';

/** A JSON Schema, as an object or as the booleans `true` (anything) and `false` (nothing). */
export type JsonSchema = boolean | { readonly [keyword: string]: unknown };

/** Keywords whose value is a set: their order means nothing. */
const SET_KEYWORDS = new Set(['required', 'enum']);

/** One side of a comparison: a root schema whose local `$ref`s ('#', '#/$defs/…') it resolves. */
export class SchemaDocument {
  readonly #root: JsonSchema;

  constructor(root: JsonSchema) {
    this.#root = root;
  }

  /** The schema a local JSON Pointer reference names, or undefined for a remote or dangling one. */
  resolve(ref: string): JsonSchema | undefined {
    if (ref !== '#' && !ref.startsWith('#/')) return undefined;
    let node: unknown = this.#root;
    for (const token of ref === '#' ? [] : ref.slice(2).split('/')) {
      const name = decodeURIComponent(token).replaceAll('~1', '/').replaceAll('~0', '~');
      if (typeof node !== 'object' || node === null || !Object.hasOwn(node, name)) return undefined;
      node = (node as Record<string, unknown>)[name];
    }
    return typeof node === 'boolean' || (typeof node === 'object' && node !== null && !Array.isArray(node)) ? (node as JsonSchema) : undefined;
  }

  /**
   * Whether `mine` (in this document) and `theirs` (in `other`) accept the same values for the same
   * reasons: equal once annotations are dropped and sets sorted, and every `$ref` they reach names an
   * equal schema on both sides. False when unsure.
   */
  sameAs(mine: JsonSchema, other: SchemaDocument, theirs: JsonSchema): boolean {
    const pending: Array<[JsonSchema, JsonSchema]> = [[mine, theirs]];
    const followed = new Set<string>();
    while (pending.length > 0) {
      const [a, b] = pending.pop()!;
      const refs = new Set<string>();
      if (canonicalText(a, refs) !== canonicalText(b, new Set())) return false;
      for (const ref of refs) {
        if (followed.has(ref)) continue;
        followed.add(ref);
        const [targetA, targetB] = [this.resolve(ref), other.resolve(ref)];
        if (targetA === undefined || targetB === undefined) return false;
        pending.push([targetA, targetB]);
      }
    }
    return true;
  }
}

/**
 * A schema as text that two equivalent spellings share: annotations and `$defs` dropped, keys sorted,
 * `required` and `enum` sorted. Collects the `$ref`s it meets, which the text shows only by name.
 */
export function canonicalText(schema: JsonSchema, refs: Set<string> = new Set()): string {
  return JSON.stringify(canonical(schema, refs));
}

function canonical(schema: unknown, refs: Set<string>): unknown {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return schema;
  const out: Record<string, unknown> = {};
  for (const keyword of Object.keys(schema).sort()) {
    const value = (schema as Record<string, unknown>)[keyword];
    if (isAnnotation(keyword) || keyword === '$defs' || keyword === 'definitions') continue;
    if (keyword === '$ref' && typeof value === 'string') refs.add(value);
    out[keyword] = canonicalValue(keyword, value, refs);
  }
  return out;
}

function canonicalValue(keyword: string, value: unknown, refs: Set<string>): unknown {
  if (SCHEMA_KEYWORDS.has(keyword)) return canonical(value, refs);
  if (SCHEMA_LIST_KEYWORDS.has(keyword) && Array.isArray(value)) return value.map((member) => canonical(member, refs));
  if (SCHEMA_MAP_KEYWORDS.has(keyword) && typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.keys(value).sort().map((name) => [name, canonical((value as Record<string, unknown>)[name], refs)]));
  }
  if (SET_KEYWORDS.has(keyword) && Array.isArray(value)) return value.map(stableJson).sort();
  return value === undefined ? undefined : (JSON.parse(stableJson(value)) as unknown);
}

/** JSON text with object keys sorted, so that equal data reads the same whatever order it was built in. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, member: unknown) =>
    typeof member === 'object' && member !== null && !Array.isArray(member)
      ? Object.fromEntries(Object.keys(member).sort().map((name) => [name, (member as Record<string, unknown>)[name]]))
      : member,
  ) ?? 'undefined';
}
