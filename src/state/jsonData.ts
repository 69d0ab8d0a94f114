/**
 * The one check that a value is JSON data: state values (`serializeValue`) and hook results (in the
 * worker) both use it. It imports nothing, so the hook worker can load it without the runtime.
 */

/** How strict a check is. */
export interface JsonDataRules {
  /** Objects and arrays may nest this many levels; the value itself is the first. */
  maxDepth: number;
  /**
   * `invalid`: an `undefined` object field is refused, as it would not read back. `omitted`: it is
   * left out, as `JSON.stringify` does (an `undefined` array element is refused either way: JSON would
   * turn it into null).
   */
  undefinedFields: 'invalid' | 'omitted';
}

/** Where a value stops being JSON data, and why. */
export interface JsonDataProblem {
  /** Like `$.messages[2].at`, from the root path given to {@link findNonJsonData}. */
  path: string;
  reason: string;
}

/**
 * Finds the first part of `value`, in key order, that is not JSON data: undefined (as the rules say),
 * functions, symbols, BigInt, NaN, ±Infinity, class instances, sparse arrays, extra or symbol-keyed
 * properties on arrays, symbol-keyed properties, cycles, and nesting deeper than `rules.maxDepth`.
 * Returns undefined when there is none.
 */
export function findNonJsonData(value: unknown, rootPath: string, rules: JsonDataRules): JsonDataProblem | undefined {
  try {
    check(value, rootPath, new Set(), 0, rules);
    return undefined;
  } catch (error) {
    if (error instanceof Problem) return { path: error.path, reason: error.reason };
    throw error;
  }
}

class Problem {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {}
}

function check(value: unknown, path: string, ancestors: Set<object>, depth: number, rules: JsonDataRules): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new Problem(path, `${value} is not a finite number`);
      return;
    case 'undefined':
      throw new Problem(path, 'undefined is not JSON (use null, or leave the field out)');
    case 'function':
      throw new Problem(path, 'a function is not JSON data');
    case 'symbol':
      throw new Problem(path, 'a symbol is not JSON data');
    case 'bigint':
      throw new Problem(path, 'a BigInt is not JSON data (store it as a string)');
  }
  if (value === null) return;
  const object = value as object;
  if (depth >= rules.maxDepth) throw new Problem(path, `the value is nested deeper than ${rules.maxDepth} levels`);
  if (ancestors.has(object)) throw new Problem(path, 'the value contains a cycle');
  ancestors.add(object);
  if (Array.isArray(object)) {
    checkArray(object, path, ancestors, depth, rules);
  } else {
    checkPlainObject(object, path, ancestors, depth, rules);
  }
  ancestors.delete(object);
}

function checkArray(array: unknown[], path: string, ancestors: Set<object>, depth: number, rules: JsonDataRules): void {
  if (Object.getPrototypeOf(array) !== Array.prototype) throw new Problem(path, 'an array subclass is not plain data');
  for (let i = 0; i < array.length; i++) {
    if (!(i in array)) throw new Problem(`${path}[${i}]`, 'a sparse array hole is not JSON (use null)');
    check(array[i], `${path}[${i}]`, ancestors, depth + 1, rules);
  }
  if (Object.keys(array).length !== array.length) throw new Problem(path, 'an array with extra named properties is not JSON');
  if (Object.getOwnPropertySymbols(array).length > 0) throw new Problem(path, 'a symbol-keyed property is not JSON');
}

function checkPlainObject(object: object, path: string, ancestors: Set<object>, depth: number, rules: JsonDataRules): void {
  const proto = Object.getPrototypeOf(object);
  if (proto !== Object.prototype && proto !== null) {
    const name = (proto as { constructor?: { name?: string } })?.constructor?.name ?? 'unknown';
    throw new Problem(path, `an instance of ${name} is not plain data (convert it to an object, string or number)`);
  }
  if (Object.getOwnPropertySymbols(object).length > 0) throw new Problem(path, 'a symbol-keyed property is not JSON');
  for (const key of Object.keys(object)) {
    const field = (object as Record<string, unknown>)[key];
    if (field === undefined && rules.undefinedFields === 'omitted') continue;
    check(field, childPath(path, key), ancestors, depth + 1, rules);
  }
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** The path of `key` inside the value at `path`: `$.name`, or `$["a.b"]` when the key is not an identifier. */
export function childPath(path: string, key: string): string {
  return IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}
