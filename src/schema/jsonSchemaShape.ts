import { ALL_KIND_KEYWORDS, isAnnotation, KIND_KEYWORDS, KINDS, OPAQUE_KEYWORD, UNFOLLOWED_KEYWORDS, type Kind } from './jsonSchemaKeywords.js';
import { stableJson, type JsonSchema, type SchemaDocument } from './SchemaDocument.js';

export type { Kind } from './jsonSchemaKeywords.js';

/** The values of one JSON type that a schema accepts. */
export interface Branch {
  kind: Kind;
  /** For a number: only integers. */
  integer: boolean;
  /** A finite list of accepted values (`enum`, `const`), or undefined when the keywords decide. */
  values: readonly unknown[] | undefined;
  /** The keywords of the schema that constrain this kind. */
  keywords: Readonly<Record<string, unknown>>;
  /** What JSON Schema could not show of the schema it came from (see comparableJsonSchema). */
  markers: readonly string[];
}

/** What a schema accepts, as the comparison reads it. */
export type Shape =
  | { form: 'any' }
  | { form: 'never' }
  /** The comparison cannot read it: `reason` says why. */
  | { form: 'opaque'; reason: string }
  /** Any value one of the branches accepts. */
  | { form: 'branches'; branches: Branch[] };

/** Keywords beside the shape: defaults and markers are compared apart, `$defs` only through `$ref`s. */
const IGNORED_BY_SHAPE = new Set(['default', OPAQUE_KEYWORD, '$defs', 'definitions']);

/** The schema a `$ref` chain ends at, or undefined when it leaves the document or loops. */
export function followRefs(node: JsonSchema, document: SchemaDocument): { target: JsonSchema; siblings: string[] } | undefined {
  const seen = new Set<string>();
  const siblings: string[] = [];
  let current = node;
  while (typeof current === 'object' && typeof current.$ref === 'string') {
    const ref = current.$ref;
    if (seen.has(ref)) return undefined;
    seen.add(ref);
    siblings.push(...Object.keys(current).filter((keyword) => keyword !== '$ref' && !IGNORED_BY_SHAPE.has(keyword) && !isAnnotation(keyword)));
    const target = document.resolve(ref);
    if (target === undefined) return undefined;
    current = target;
  }
  return { target: current, siblings };
}

/** Reads a schema (its `$ref` already followed) as a union of branches, one or more per kind. */
export function shapeOf(node: JsonSchema, document: SchemaDocument, visiting: ReadonlySet<JsonSchema> = new Set()): Shape {
  if (node === true) return { form: 'any' };
  if (node === false) return { form: 'never' };
  if ('$ref' in node) return { form: 'opaque', reason: 'a `$ref` that was not followed' };
  const markers = markersOf(node);
  const keywords = Object.keys(node).filter((keyword) => !isAnnotation(keyword) && !IGNORED_BY_SHAPE.has(keyword));
  const unfollowed = keywords.filter((keyword) => UNFOLLOWED_KEYWORDS.has(keyword));
  if (unfollowed.length > 0) return { form: 'opaque', reason: `uses ${unfollowed.map((k) => `\`${k}\``).join(', ')}, which this comparison does not follow` };
  if ('not' in node) return isEmptySchema(node.not) && keywords.length === 1 ? { form: 'never' } : { form: 'opaque', reason: 'uses `not`' };
  const shape = 'anyOf' in node || 'oneOf' in node || 'allOf' in node ? combinationShape(node, keywords, document, new Set([...visiting, node])) : plainShape(node, keywords);
  if (markers.length === 0 || shape.form === 'opaque') return shape;
  // `{}` marked `type:date` is a date, not any value; a marked union carries its marks to each branch.
  if (shape.form !== 'branches') return { form: 'opaque', reason: `a value JSON Schema cannot show (${markers.join(', ')})` };
  return { form: 'branches', branches: shape.branches.map((branch) => ({ ...branch, markers: [...new Set([...branch.markers, ...markers])] })) };
}

/** The marks comparableJsonSchema left on a schema. */
export function markersOf(schema: JsonSchema): string[] {
  const markers = typeof schema === 'object' ? schema[OPAQUE_KEYWORD] : undefined;
  return Array.isArray(markers) ? (markers as string[]) : [];
}

function combinationShape(node: { readonly [keyword: string]: unknown }, keywords: string[], document: SchemaDocument, visiting: ReadonlySet<JsonSchema>): Shape {
  const combinator = keywords.find((keyword) => keyword === 'anyOf' || keyword === 'oneOf' || keyword === 'allOf')!;
  const members = node[combinator];
  if (keywords.length > 1 || !Array.isArray(members)) return { form: 'opaque', reason: `\`${combinator}\` beside other keywords` };
  if (combinator === 'allOf' && members.length !== 1) return { form: 'opaque', reason: 'an `allOf` of several schemas' };
  const shapes: Shape[] = [];
  for (const member of members as JsonSchema[]) {
    const followed = followRefs(member, document);
    if (followed === undefined || followed.siblings.length > 0) return { form: 'opaque', reason: `a \`$ref\` in \`${combinator}\` that cannot be followed` };
    if (visiting.has(followed.target)) return { form: 'opaque', reason: `\`${combinator}\` that refers to itself` };
    shapes.push(shapeOf(followed.target, document, visiting));
  }
  const opaque = shapes.find((shape) => shape.form === 'opaque');
  if (opaque !== undefined) return opaque;
  if (shapes.some((shape) => shape.form === 'any')) return { form: 'any' };
  const branches = shapes.flatMap((shape) => (shape.form === 'branches' ? shape.branches : []));
  if (branches.length === 0) return { form: 'never' };
  if (combinator === 'oneOf' && !membersDisjoint(shapes)) return { form: 'opaque', reason: 'a `oneOf` whose members may overlap' };
  return { form: 'branches', branches };
}

function plainShape(node: { readonly [keyword: string]: unknown }, keywords: string[]): Shape {
  const values = 'const' in node ? [node.const] : Array.isArray(node.enum) ? (node.enum as unknown[]) : undefined;
  if (values !== undefined && values.some((value) => typeof value === 'object' && value !== null)) {
    return { form: 'opaque', reason: 'an `enum` or `const` of objects or arrays' };
  }
  const declared = typeof node.type === 'string' ? [node.type] : Array.isArray(node.type) ? (node.type as string[]) : undefined;
  if (declared !== undefined && declared.some((type) => type !== 'integer' && !KINDS.includes(type as Kind))) {
    return { form: 'opaque', reason: `an unknown type in ${stableJson(node.type)}` };
  }
  let types: string[];
  if (declared !== undefined) types = declared;
  else if (values !== undefined) types = [...new Set(values.map(kindOfValue))];
  else if (keywords.some((keyword) => ALL_KIND_KEYWORDS.has(keyword))) types = [...KINDS];
  else return { form: 'any' };
  const branches: Branch[] = [];
  for (const type of new Set(types)) {
    const kind: Kind = type === 'integer' ? 'number' : (type as Kind);
    const integer = type === 'integer';
    const ofKind = values?.filter((value) => kindOfValue(value) === kind && (!integer || Number.isInteger(value)));
    if (ofKind !== undefined && ofKind.length === 0) continue;
    const own = Object.fromEntries(keywords.filter((keyword) => KIND_KEYWORDS[kind].has(keyword)).map((keyword) => [keyword, node[keyword]]));
    branches.push({ kind, integer, values: ofKind, keywords: own, markers: [] });
  }
  return branches.length === 0 ? { form: 'never' } : { form: 'branches', branches };
}

export function kindOfValue(value: unknown): Kind {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value as Kind;
}

function isEmptySchema(schema: unknown): boolean {
  return schema === true || (typeof schema === 'object' && schema !== null && Object.keys(schema).every(isAnnotation));
}

/** Whether no value can satisfy two members of a `oneOf` at once, as far as the branches show. */
function membersDisjoint(shapes: Shape[]): boolean {
  const members = shapes.map((shape) => (shape.form === 'branches' ? shape.branches : []));
  for (let i = 0; i < members.length; i += 1) {
    for (let j = i + 1; j < members.length; j += 1) {
      if (members[i].some((a) => members[j].some((b) => !branchesDisjoint(a, b)))) return false;
    }
  }
  return true;
}

/** Provably no value in both: different kinds, disjoint finite sets, or a shared required field with disjoint values. */
export function branchesDisjoint(a: Branch, b: Branch): boolean {
  if (a.kind !== b.kind) return true;
  if (a.values !== undefined && b.values !== undefined) {
    const theirs = new Set(b.values.map(stableJson));
    return a.values.every((value) => !theirs.has(stableJson(value)));
  }
  return a.kind === 'object' && discriminatorOf(a, b) !== undefined;
}

/** A field both objects require whose own values (each a finite list) share nothing. */
export function discriminatorOf(a: Branch, b: Branch): string | undefined {
  const valuesA = requiredConstants(a);
  const valuesB = requiredConstants(b);
  for (const [name, mine] of valuesA) {
    const theirs = valuesB.get(name);
    if (theirs !== undefined && mine.every((value) => !theirs.includes(value))) return name;
  }
  return undefined;
}

/** Each required field whose schema is an inline `const` or `enum`, with its values as stable JSON. */
export function requiredConstants(branch: Branch): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const properties = branch.keywords.properties as Record<string, JsonSchema> | undefined;
  const required = branch.keywords.required;
  if (properties === undefined || !Array.isArray(required)) return out;
  for (const name of required as string[]) {
    const schema = properties[name];
    if (typeof schema !== 'object' || schema === null) continue;
    const values = 'const' in schema ? [schema.const] : Array.isArray(schema.enum) ? (schema.enum as unknown[]) : undefined;
    if (values !== undefined) out.set(name, values.map(stableJson));
  }
  return out;
}
