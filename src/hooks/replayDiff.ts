import { applyPatch, createPatch, type Operation } from 'rfc6902';
import { LlmStateError } from '../errors.js';

/** One RFC 6902 JSON Patch operation: `add`, `remove`, `replace`, `move`, `copy` or `test`. */
export type DiffOp = Operation;

const OPS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);

/**
 * The differences between a hook's original and replayed results, as the RFC 6902 operations that turn
 * `original` into `replayed`. Empty when the two are deep-equal.
 *
 * Both values are compared as their JSON forms: a property whose value is `undefined` counts as absent,
 * and a top-level `undefined` as `null`.
 *
 * @throws {VALUE_INVALID} when either value cannot be written as JSON (a cycle, a bigint).
 * @example
 * diffValues({ a: 1, b: [1, 2] }, { a: 2, b: [1, 2] }) // → [{ op: 'replace', path: '/a', value: 2 }]
 */
export function diffValues(original: unknown, replayed: unknown): DiffOp[] {
  return createPatch(toJson(original, 'original'), toJson(replayed, 'replayed'));
}

/**
 * Returns a patched deep copy of an execution's input events, for a "what if" replay. The input is not
 * modified. `patch` takes one of two forms:
 *
 * - **An array: an RFC 6902 JSON Patch** against the whole events array, with paths such as
 *   `/0/value/name`. Every operation must succeed, `test` included, or nothing is applied.
 * - **A plain object: an RFC 7396 JSON Merge Patch** applied to each event in turn. So
 *   `{ value: { name: 'rain' } }` sets `value.name` on every event, and a member set to `null` is deleted.
 *
 * @throws {VALUE_INVALID} when `patch` is neither form, an operation is malformed, or an operation fails
 * (a `test` that does not hold, a path that does not exist). `details` holds `{ patch, reason }`.
 * @example
 * applyInputPatch(events, [{ op: 'replace', path: '/0/value/name', value: 'rain' }])
 * applyInputPatch(events, { value: { name: 'rain', draft: null } })
 */
export function applyInputPatch(input: readonly unknown[], patch: unknown): unknown[] {
  if (Array.isArray(patch)) return applyJsonPatch(input, patch);
  if (isPlainObject(patch)) {
    const events = cloneJson(input, patch) as unknown[];
    return events.map((event) => mergePatch(event, patch, patch));
  }
  throw invalid(patch, `expected an array of RFC 6902 operations or a merge-patch object, got ${patch === null ? 'null' : typeof patch}`);
}

function applyJsonPatch(input: readonly unknown[], patch: readonly unknown[]): unknown[] {
  patch.forEach((op, index) => checkOperation(op, index, patch));
  // Patching a holder, not the array itself, lets an operation on the root path `""` work too.
  const holder = { root: cloneJson(input, patch) };
  const ops = (cloneJson(patch, patch) as Operation[]).map((op) => ({
    ...op,
    path: `/root${op.path}`,
    ...('from' in op ? { from: `/root${op.from}` } : {}),
  })) as Operation[];
  const results = applyPatch(holder, ops);
  const failed = results.findIndex((result) => result !== null);
  const error = failed === -1 ? null : results[failed];
  if (error) {
    // The library names the holder's path; the caller wrote paths into the events array.
    const message = error.message.replaceAll('/root', '');
    throw invalid(patch, `operation ${failed} (${describeOp(patch[failed] as Operation)}) failed: ${message || '(root)'}`, error);
  }
  if (!Array.isArray(holder.root)) throw invalid(patch, 'the patched input is no longer an array of events');
  return holder.root;
}

function checkOperation(op: unknown, index: number, patch: unknown): asserts op is Operation {
  const fail = (why: string): never => {
    throw invalid(patch, `operation ${index} ${why}`);
  };
  if (!isPlainObject(op)) return fail('is not an object');
  if (typeof op.op !== 'string' || !OPS.has(op.op)) return fail(`has an unknown \`op\` ${JSON.stringify(op.op)}`);
  if (!isPointer(op.path)) return fail('needs a `path` that is a JSON Pointer ("" or starting with "/")');
  if ((op.op === 'add' || op.op === 'replace' || op.op === 'test') && !('value' in op)) return fail(`(${op.op}) needs a \`value\``);
  if ((op.op === 'move' || op.op === 'copy') && !isPointer(op.from)) return fail(`(${op.op}) needs a \`from\` JSON Pointer`);
  // The rfc6902 library skips these members when it walks a path (its guard against prototype
  // pollution), so an operation through one would act somewhere else: refuse it instead.
  for (const pointer of [op.path, op.from]) {
    if (typeof pointer === 'string' && pointer.split('/').some((token) => UNWALKABLE.has(token))) {
      return fail(`goes through a member named __proto__, constructor or prototype, which JSON Patch here cannot address; use a merge patch`);
    }
  }
}

const UNWALKABLE = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * RFC 7396, section 2, on a `target` that is already a private copy, so it is changed in place. Members
 * are read and written as own data only, so a `__proto__` member can never reach a prototype.
 */
function mergePatch(target: unknown, patch: unknown, whole: unknown): unknown {
  if (!isPlainObject(patch)) return cloneJson(patch, whole);
  const result: Record<string, unknown> = isPlainObject(target) ? target : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      delete result[key];
      continue;
    }
    const merged = mergePatch(Object.hasOwn(result, key) ? result[key] : undefined, value, whole);
    Object.defineProperty(result, key, { value: merged, enumerable: true, writable: true, configurable: true });
  }
  return result;
}

function toJson(value: unknown, which: string): unknown {
  try {
    const text = JSON.stringify(value);
    return text === undefined ? null : JSON.parse(text);
  } catch (err) {
    throw new LlmStateError('VALUE_INVALID', `Cannot diff the ${which} value: it is not JSON data`, { cause: err, details: { reason: (err as Error).message } });
  }
}

function cloneJson(value: unknown, patch: unknown): unknown {
  try {
    return structuredClone(value);
  } catch (err) {
    throw invalid(patch, `a value cannot be copied: ${(err as Error).message}`, err);
  }
}

function invalid(patch: unknown, reason: string, cause?: unknown): LlmStateError {
  return new LlmStateError('VALUE_INVALID', `Invalid replay patch: ${reason}`, { cause, details: { patch, reason } });
}

function describeOp(op: Operation): string {
  return 'from' in op ? `${op.op} ${op.from} → ${op.path}` : `${op.op} ${op.path}`;
}

function isPointer(value: unknown): value is string {
  return typeof value === 'string' && (value === '' || value.startsWith('/'));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
