import type { z } from 'zod';
import { escapeForDisplay } from './displayText.js';

/** Each option's schema, and how a message describes what it expects. */
export type OptionFields = Record<string, readonly [z.ZodType, string]>;

/**
 * What {@link checkOptions} returns: each field as its schema outputs it, absent when not given, except
 * the `Given` ones it requires.
 */
export type CheckedOptions<Fields extends OptionFields, Given extends keyof Fields = never> = {
  -readonly [Name in keyof Fields]?: z.output<Fields[Name][0]>;
} & { -readonly [Name in Given]-?: z.output<Fields[Name][0]> };

export interface CheckOptionsWording<Required extends string = string> {
  /** What the whole object is, in "Expected <what> to be an object". @default 'the options' */
  what?: string;
  /** What one field is, in "Unknown <field> `x`". @default 'option' */
  field?: string;
  /** Fields that must be given. */
  required?: readonly Required[];
  /**
   * An object inside another, named by its path: messages then read ``Expected `children[0]` to be a
   * child spec object``, ``Unknown field `children[0].x`; a child spec has `id`, `start` and `type` ``
   * and ``Expected `children[0].id` to be …``.
   */
  nested?: { path: string; kind: string };
}

/**
 * Checks an options object against its fields, once, at the edge: an object, no unknown field, the
 * required ones present, each given one valid. Returns it as a record for the caller to fill defaults.
 *
 * @throws {TypeError} reading like ``Expected `idleMs` to be a positive integer, got `-1` (number)``.
 * @internal
 */
export function checkOptions<Fields extends OptionFields, Given extends keyof Fields & string = never>(
  input: unknown,
  fields: Fields,
  wording: CheckOptionsWording<Given> = {},
): CheckedOptions<Fields, Given> {
  const { what = 'the options', field = 'option', required = [], nested } = wording;
  const named = (name: string) => (nested === undefined ? name : `${nested.path}.${name}`);
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    const expected = nested === undefined ? `${what} to be an object` : `\`${nested.path}\` to be ${nested.kind} object`;
    throw new TypeError(`Expected ${expected}, got ${describeOption(input)}`);
  }
  const options = input as Record<string, unknown>;
  for (const name of Object.keys(options)) {
    if (Object.hasOwn(fields, name)) continue;
    const known = Object.keys(fields).map((n) => `\`${n}\``);
    throw new TypeError(
      nested === undefined
        ? `Unknown ${field} \`${name}\`; the options are ${known.join(', ')}`
        : `Unknown field \`${named(name)}\`; ${nested.kind} has ${known.slice(0, -1).join(', ')} and ${known.at(-1)}`,
    );
  }
  for (const name of required as readonly string[]) {
    if (options[name] === undefined) throw new TypeError(`Expected \`${named(name)}\` to be ${fields[name][1]}, got ${describeOption(undefined)}`);
  }
  for (const [name, [schema, expected]] of Object.entries(fields)) {
    const value = options[name];
    if (value !== undefined && !schema.safeParse(value).success) {
      throw new TypeError(`Expected \`${named(name)}\` to be ${expected}, got ${describeOption(value)}`);
    }
  }
  // The given values themselves, not zod's copies: no schema here transforms, so each already has its
  // schema's output type, and a caller's objects keep their identity.
  return options as CheckedOptions<Fields, Given>;
}

/**
 * Checks the options argument of a public method (or its filter, spec, policy …), worded the same on
 * every method: an object, or undefined where the argument is optional. Only the argument's shape is
 * checked here; each field is checked where it is used.
 *
 * @param name The parameter's name, as the method's signature spells it.
 * @throws {TypeError} reading like ``Expected `options` to be an object, got `null` ``.
 * @internal
 */
export function checkOptionsArgument(value: unknown, name = 'options', presence: 'optional' | 'required' = 'optional'): void {
  if (value === undefined && presence === 'optional') return;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`Expected \`${name}\` to be an object, got ${describeOption(value)}`);
  }
}

/**
 * How every validation message shows the value it got: `` `-1` (number) ``, `` `"./data"` (string) ``,
 * `` `[function start]` (function) ``, `` `null` ``, cut at 60 characters and escaped for a terminal.
 * @internal
 */
export function describeOption(value: unknown): string {
  if (value === null) return '`null`';
  const type = Array.isArray(value) ? 'array' : typeof value;
  const shown = showOption(value);
  return `\`${escapeForDisplay(shown.length > 60 ? `${shown.slice(0, 60)}…` : shown)}\` (${type})`;
}

function showOption(value: unknown): string {
  // JSON would show an invalid Date as null.
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  // A function's source says nothing useful in one line; its name does.
  if (typeof value === 'function') return `[function ${value.name || 'anonymous'}]`;
  if (typeof value !== 'string' && typeof value !== 'object') return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * The checks that query filters share (`rt.events.query`, `rt.hooks.history`), worded alike: text fields
 * are non-empty strings, times are Dates or ms, and a limit is a positive integer.
 *
 * @throws {TypeError} reading like ``Expected `limit` to be a positive integer, got `0` (number)``.
 * @internal
 */
export function checkQueryFields(fields: { text: Record<string, unknown>; times: Record<string, unknown>; limit: unknown }): void {
  for (const [name, value] of Object.entries(fields.text)) {
    if (value !== undefined && (typeof value !== 'string' || value.length === 0)) {
      throw new TypeError(`Expected \`${name}\` to be a non-empty string, got ${describeOption(value)}`);
    }
  }
  for (const [name, value] of Object.entries(fields.times)) {
    if (value !== undefined && !(value instanceof Date ? Number.isFinite(value.getTime()) : Number.isFinite(value))) {
      throw new TypeError(`Expected \`${name}\` to be a Date or a time in ms, got ${describeOption(value)}`);
    }
  }
  const { limit } = fields;
  if (limit !== undefined && !(Number.isSafeInteger(limit) && (limit as number) > 0)) {
    throw new TypeError(`Expected \`limit\` to be a positive integer, got ${describeOption(limit)}`);
  }
}
