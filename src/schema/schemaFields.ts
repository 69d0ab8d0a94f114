/**
 * The fields of a JSON Schema, flattened into rows for documentation: `address.city` for a nested
 * object's field, `tags[]` for an array's items, `scores.*` for a record's values, `pair[0]` for a tuple's
 * elements. Only local references (`#`, `#/$defs/…`) are followed; a keyword it does not know is ignored.
 */

/** A piece of a field's type: prose, or a literal (a value, a pattern) that is shown as code. */
export type TypePart = { text: string } | { code: string };

export interface SchemaField {
  /** `(root)` for the value itself when it is not an object with fields. */
  path: string;
  type: TypePart[];
  /** `required`, `optional`, `each item` or `each value`, with the shape it belongs to in a union. */
  presence: string;
  /** The default as JSON, when there is one. */
  default?: string;
  description?: string;
}

export const ROOT_PATH = '(root)';

type Node = Record<string, unknown>;

interface Resolved {
  node: Node;
  /** The local reference followed to reach `node`. */
  ref?: string;
  /** Where that reference is already being expanded, further up: the schema contains itself. */
  recursiveAt?: string;
  /** A reference that is not local, or leads nowhere. */
  unresolved?: string;
}

interface Walk {
  root: Node;
  /** References being expanded on the way down, and the path that expands each. */
  expanding: Map<string, string>;
  fields: SchemaField[];
}

/** The rows of a JSON Schema, in the order of its properties. Never throws, whatever the schema holds. */
export function schemaFields(jsonSchema: unknown): SchemaField[] {
  const root = asNode(jsonSchema);
  const walk: Walk = { root, expanding: new Map([['#', ROOT_PATH]]), fields: [] };
  const resolved = resolve(root, walk);
  if (isObjectWithFields(resolved.node, walk)) {
    addChildren(resolved.node, '', '', walk);
    if (walk.fields.length > 0) return walk.fields;
  }
  addField(root, ROOT_PATH, 'required', '', walk);
  return walk.fields;
}

function addField(schema: unknown, path: string, presence: string, shape: string, walk: Walk): void {
  const resolved = resolve(asNode(schema), walk);
  const { node, ref, recursiveAt } = resolved;
  const field: SchemaField = { path, type: resolvedType(resolved, walk), presence: shape === '' ? presence : `${presence} (${shape})` };
  if (node.default !== undefined) field.default = JSON.stringify(node.default);
  const description = describe(node);
  if (description !== undefined) field.description = description;
  walk.fields.push(field);
  if (recursiveAt !== undefined || resolved.unresolved !== undefined) return;
  if (ref !== undefined) walk.expanding.set(ref, path);
  addChildren(node, path === ROOT_PATH ? '' : path, shape, walk);
  if (ref !== undefined) walk.expanding.delete(ref);
}

function addChildren(node: Node, path: string, shape: string, walk: Walk): void {
  const object = objectParts(node, walk);
  if (object !== undefined) {
    for (const [key, child] of object.properties) addField(child, join(path, key), object.required.has(key) ? 'required' : 'optional', shape, walk);
    if (object.values !== undefined && !isPlain(object.values)) addField(object.values, path === '' ? '*' : `${path}.*`, 'each value', shape, walk);
  }
  const tuple = asArray(node.prefixItems);
  if (tuple !== undefined && !tuple.every(isPlain)) {
    const required = typeof node.minItems === 'number' ? node.minItems : tuple.length;
    tuple.forEach((element, index) => addField(element, `${path}[${index}]`, index < required ? 'required' : 'optional', shape, walk));
  }
  if (tuple === undefined && isSchema(node.items) && !isPlain(node.items)) addField(node.items, `${path}[]`, 'each item', shape, walk);
  const members = unionMembers(node);
  if (members === undefined) return;
  for (const { resolved, label } of shapesOf(members, walk)) {
    if (resolved.ref !== undefined) walk.expanding.set(resolved.ref, path === '' ? ROOT_PATH : path);
    addChildren(resolved.node, path, [shape, label].filter((part) => part !== '').join(', '), walk);
    if (resolved.ref !== undefined) walk.expanding.delete(resolved.ref);
  }
}

/**
 * The members of a union that are objects with fields, which are documented as shapes: `shape 1`,
 * `shape 2` …, or with no label when there is only one (a nullable object).
 */
function shapesOf(members: unknown[], walk: Walk): { index: number; resolved: Resolved; label: string }[] {
  const shapes = members
    .map((member, index) => ({ index, resolved: resolve(asNode(member), walk) }))
    .filter(({ resolved }) => resolved.recursiveAt === undefined && isObjectWithFields(resolved.node, walk));
  return shapes.map((shape, index) => ({ ...shape, label: shapes.length === 1 ? '' : `shape ${index + 1}` }));
}

interface ObjectParts {
  /** By key, in order; a key that several members of an `allOf` declare is listed once. */
  properties: Map<string, unknown>;
  required: Set<string>;
  /** The schema of the values of keys not in `properties`. */
  values?: unknown;
}

/** The fields of an object, or of an `allOf` of objects, which zod writes for an intersection. */
function objectParts(node: Node, walk: Walk, seen: ReadonlySet<string> = new Set()): ObjectParts | undefined {
  const all = asArray(node.allOf);
  if (all !== undefined && !isObjectLike(node)) {
    const merged: ObjectParts = { properties: new Map(), required: new Set() };
    for (const member of all) {
      const resolved = resolve(asNode(member), walk);
      if (resolved.ref !== undefined && (seen.has(resolved.ref) || resolved.recursiveAt !== undefined)) return undefined;
      const part = objectParts(resolved.node, walk, resolved.ref === undefined ? seen : new Set([...seen, resolved.ref]));
      if (part === undefined) return undefined;
      for (const [key, child] of part.properties) if (!merged.properties.has(key)) merged.properties.set(key, child);
      for (const key of part.required) merged.required.add(key);
    }
    return all.length === 0 ? undefined : merged;
  }
  if (!isObjectLike(node)) return undefined;
  const properties = new Map(isRecord(node.properties) ? Object.entries(node.properties) : []);
  const required = new Set((asArray(node.required) ?? []).filter((key): key is string => typeof key === 'string'));
  return { properties, required, ...(isRecord(node.additionalProperties) ? { values: node.additionalProperties } : {}) };
}

function isObjectWithFields(node: Node, walk: Walk): boolean {
  const parts = objectParts(node, walk);
  return parts !== undefined && (parts.properties.size > 0 || parts.values !== undefined);
}

function isObjectLike(node: Node): boolean {
  return types(node).includes('object') || isRecord(node.properties) || isRecord(node.additionalProperties);
}

function resolvedType(resolved: Resolved, walk: Walk): TypePart[] {
  if (resolved.recursiveAt !== undefined) return [{ text: 'recursive, as ' }, { code: resolved.recursiveAt }];
  if (resolved.unresolved !== undefined) return [{ text: 'defined by ' }, { code: resolved.unresolved }];
  return typeOf(resolved.node, walk);
}

/** The type column: the kind of value, then what constrains it. */
function typeOf(node: Node, walk: Walk): TypePart[] {
  if (node.const !== undefined) return [{ code: JSON.stringify(node.const) }];
  const values = asArray(node.enum);
  if (values !== undefined) return [{ text: 'one of ' }, ...listed(values.map((value) => [{ code: JSON.stringify(value) }]))];
  return [...kindOf(node, walk), ...constraintsOf(node)];
}

function kindOf(node: Node, walk: Walk): TypePart[] {
  if (node === NOTHING) return [{ text: 'nothing (no value is valid)' }];
  const members = unionMembers(node);
  if (members !== undefined) return unionKind(members, walk);
  const all = asArray(node.allOf);
  if (all !== undefined && !isObjectLike(node)) {
    if (objectParts(node, walk) !== undefined) return [{ text: 'object' }];
    return [{ text: 'all of ' }, ...joined(all.map((member) => memberKind(member, walk)), ' and ')];
  }
  if (isSchema(node.not) && types(node).length === 0) return [{ text: 'anything but ' }, ...memberKind(node.not, walk)];
  const kinds = types(node);
  const nullable = kinds.includes('null') && kinds.length > 1;
  const shown = nullable ? kinds.filter((kind) => kind !== 'null') : kinds;
  if (shown.length === 0) {
    if (isObjectLike(node)) shown.push('object');
    else if (node.items !== undefined || node.prefixItems !== undefined) shown.push('array');
  }
  if (shown.length === 0) return [{ text: 'any' }];
  const parts = joined(shown.map((kind) => kindWords(kind, node, walk)), ' or ');
  if (typeof node.format === 'string') parts.push({ text: ` (${node.format})` });
  if (nullable) parts.push({ text: ', nullable' });
  return parts;
}

function kindWords(kind: string, node: Node, walk: Walk): TypePart[] {
  if (kind === 'array') {
    const tuple = asArray(node.prefixItems);
    if (tuple !== undefined) return [{ text: 'tuple (' }, ...joined(tuple.map((element) => memberKind(element, walk)), ', '), { text: ')' }];
    if (isSchema(node.items)) return [{ text: 'array of ' }, ...memberKind(node.items, walk)];
    return [{ text: 'array' }];
  }
  if (kind === 'object' && !isRecord(node.properties) && isRecord(node.additionalProperties)) {
    return [{ text: 'record of ' }, ...memberKind(node.additionalProperties, walk)];
  }
  return [{ text: kind }];
}

/** `string or number`; a nullable union says so once; object members are numbered as shapes, whose fields follow. */
function unionKind(members: unknown[], walk: Walk): TypePart[] {
  const shapes = new Map(shapesOf(members, walk).map(({ index, label }) => [index, label]));
  let nullable = false;
  const shown: TypePart[][] = [];
  for (const [index, member] of members.entries()) {
    const label = shapes.get(index);
    if (label !== undefined) {
      shown.push([{ text: label === '' ? 'object' : `object (${label})` }]);
    } else if (isNull(resolve(asNode(member), walk).node)) {
      nullable = true;
    } else {
      shown.push(memberKind(member, walk));
    }
  }
  const parts = shown.length === 0 ? [{ text: 'null' }] : joined(shown, ' or ');
  if (nullable && shown.length > 0) parts.push({ text: ', nullable' });
  return parts;
}

function isNull(node: Node): boolean {
  return Object.keys(node).length === 1 && node.type === 'null';
}

/** A type inside another's description: in parentheses when it has constraints of its own. */
function memberKind(member: unknown, walk: Walk): TypePart[] {
  const resolved = resolve(asNode(member), walk);
  const { ref } = resolved;
  if (resolved.recursiveAt !== undefined) return [{ text: 'recursive' }];
  // Marked while its type is described, so that a type that contains itself ends.
  if (ref !== undefined) walk.expanding.set(ref, ROOT_PATH);
  const parts = resolvedType(resolved, walk);
  if (ref !== undefined) walk.expanding.delete(ref);
  const compound = parts.some((part) => 'text' in part && (part.text.includes(', ') || part.text.includes(' or ')));
  return compound ? [{ text: '(' }, ...parts, { text: ')' }] : parts;
}

const SAFE_INTEGER_BOUND = Number.MAX_SAFE_INTEGER;

function constraintsOf(node: Node): TypePart[] {
  const found: TypePart[][] = [];
  const range = (min: unknown, max: unknown, unit: string, units = unit): void => {
    const low = typeof min === 'number' ? min : undefined;
    const high = typeof max === 'number' ? max : undefined;
    const counted = (n: number) => (unit === 'length' ? `length ${n}` : `${n} ${n === 1 ? unit : units}`);
    if (low !== undefined && low === high) found.push([{ text: counted(low) }]);
    else if (low !== undefined && high !== undefined) found.push([{ text: unit === 'length' ? `length ${low} to ${high}` : `${low} to ${high} ${units}` }]);
    else if (low !== undefined) found.push([{ text: unit === 'length' ? `length ≥ ${low}` : `at least ${counted(low)}` }]);
    else if (high !== undefined) found.push([{ text: unit === 'length' ? `length ≤ ${high}` : `at most ${counted(high)}` }]);
  };
  range(node.minLength, node.maxLength, 'length');
  // zod bounds every integer to the safe range: that says nothing a reader needs.
  const integer = types(node).includes('integer');
  const bound = (value: unknown, symbol: string): void => {
    if (typeof value !== 'number' || (integer && Math.abs(value) === SAFE_INTEGER_BOUND)) return;
    found.push([{ text: `${symbol} ${value}` }]);
  };
  bound(node.exclusiveMinimum, '>');
  bound(node.minimum, '≥');
  bound(node.exclusiveMaximum, '<');
  bound(node.maximum, '≤');
  if (typeof node.multipleOf === 'number') found.push([{ text: `multiple of ${node.multipleOf}` }]);
  // A format's own pattern (zod writes one for email, date-time …) only repeats the format.
  if (typeof node.pattern === 'string' && typeof node.format !== 'string') found.push([{ text: 'pattern ' }, { code: node.pattern }]);
  const tuple = asArray(node.prefixItems);
  const fixed = tuple !== undefined && node.minItems === tuple.length && node.maxItems === tuple.length;
  if (!fixed) range(node.minItems, node.maxItems, 'item', 'items');
  if (node.uniqueItems === true) found.push([{ text: 'unique items' }]);
  range(node.minProperties, node.maxProperties, 'key', 'keys');
  if (node.additionalProperties === false && isRecord(node.properties)) found.push([{ text: 'no other keys' }]);
  return found.length === 0 ? [] : [{ text: ', ' }, ...joined(found, ', ')];
}

function describe(node: Node): string | undefined {
  const text = typeof node.description === 'string' ? node.description : typeof node.title === 'string' ? node.title : undefined;
  if (node.deprecated === true) return text === undefined ? 'Deprecated.' : `Deprecated. ${text}`;
  return text;
}

function unionMembers(node: Node): unknown[] | undefined {
  return asArray(node.anyOf) ?? asArray(node.oneOf);
}

/**
 * A node with its local `$ref` followed (keywords beside the `$ref`, such as a description, win), and
 * whether that reference is already being expanded further up, which ends a recursive schema.
 */
function resolve(node: Node, walk: Walk): Resolved {
  const ref = node.$ref;
  if (typeof ref !== 'string') return { node };
  const { $ref: _, ...beside } = node;
  const target = ref === '#' ? walk.root : ref.startsWith('#/') ? pointer(walk.root, ref.slice(2)) : undefined;
  if (target === undefined) return { node: beside, unresolved: ref };
  const merged = target === false ? NOTHING : { ...asNode(target), ...beside };
  const recursiveAt = walk.expanding.get(ref);
  return recursiveAt === undefined ? { node: merged, ref } : { node: merged, ref, recursiveAt };
}

function pointer(root: Node, path: string): unknown {
  let at: unknown = root;
  for (const token of path.split('/')) {
    const key = token.replaceAll('~1', '/').replaceAll('~0', '~');
    if (!isRecord(at) || !Object.hasOwn(at, key)) return undefined;
    at = at[key];
  }
  return isSchema(at) ? at : undefined;
}

/** A plain type (`{ type: 'string' }`, an array of them) is said in full by its parent's type: it needs no row. */
function isPlain(schema: unknown): boolean {
  if (schema === true) return true;
  if (!isRecord(schema)) return false;
  return Object.keys(schema).every((key) => key === 'type' || key === 'items') && typeof schema.type === 'string' && (schema.items === undefined || isPlain(schema.items));
}

function types(node: Node): string[] {
  if (typeof node.type === 'string') return [node.type];
  return (asArray(node.type) ?? []).filter((kind): kind is string => typeof kind === 'string');
}

/** The schema `false`, which no value meets. */
const NOTHING: Node = Object.freeze({});

/** `true` is any value and `false` none; anything else that is not an object is taken as any value. */
function asNode(schema: unknown): Node {
  if (schema === false) return NOTHING;
  return isRecord(schema) ? schema : {};
}

function isSchema(value: unknown): boolean {
  return typeof value === 'boolean' || isRecord(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asArray(value: unknown): unknown[] | undefined {
  return Array.isArray(value) ? value : undefined;
}

/** `address.city`; a key that is not a plain name is quoted: `labels["a.b"]`. */
function join(path: string, key: string): string {
  if (/^[A-Za-z_$][\w$-]*$/.test(key)) return path === '' ? key : `${path}.${key}`;
  return `${path}[${JSON.stringify(key)}]`;
}

function joined(items: TypePart[][], separator: string): TypePart[] {
  return items.flatMap((item, index) => (index === 0 ? item : [{ text: separator }, ...item]));
}

function listed(items: TypePart[][]): TypePart[] {
  return joined(items, ', ');
}
