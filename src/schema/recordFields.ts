/**
 * Reading and writing one field of a record held as JSON data, by its keys. Only own properties count,
 * and every write defines a plain own data property, so a key such as `__proto__` or `constructor`
 * stays data and never reaches a prototype.
 */

type Fields = Record<string, unknown>;

/** Thrown when a path must go through a value that is not an object: a string, an array, null … */
export class PathBlocked extends Error {
  constructor(
    /** The keys of the field the path leads to. */
    readonly keys: readonly string[],
    /** How many of them lead to the value in the way: 0 is the record itself. */
    readonly depth: number,
    readonly value: unknown,
  ) {
    super('the path goes through a value that is not an object');
  }
}

/** The field's value, or undefined when it or an object on its way is absent. */
export function readField(record: unknown, keys: readonly string[]): unknown {
  const parent = parentOf(record, keys, false);
  return parent === undefined ? undefined : ownValue(parent, keys[keys.length - 1]);
}

/** Sets the field, creating the objects on its way that are absent. */
export function writeField(record: unknown, keys: readonly string[], value: unknown): void {
  const parent = parentOf(record, keys, true)!;
  const key = keys[keys.length - 1];
  if (key === '__proto__') {
    Object.defineProperty(parent, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    parent[key] = value;
  }
}

/** Removes the field when it is there. The objects on its way stay, even when they are left empty. */
export function deleteField(record: unknown, keys: readonly string[]): void {
  const parent = parentOf(record, keys, false);
  const key = keys[keys.length - 1];
  if (parent !== undefined && Object.hasOwn(parent, key)) delete parent[key];
}

function parentOf(record: unknown, keys: readonly string[], create: boolean): Fields | undefined {
  let node = record;
  for (let depth = 0; depth < keys.length - 1; depth++) {
    if (!isFields(node)) throw new PathBlocked(keys, depth, node);
    let child = ownValue(node, keys[depth]);
    if (child === undefined) {
      if (!create) return undefined;
      child = {};
      writeField(node, [keys[depth]], child);
    }
    node = child;
  }
  if (!isFields(node)) throw new PathBlocked(keys, keys.length - 1, node);
  return node;
}

function ownValue(fields: Fields, key: string): unknown {
  return Object.hasOwn(fields, key) ? fields[key] : undefined;
}

function isFields(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
