import { z } from 'zod';
import { OPAQUE_KEYWORD } from './jsonSchemaKeywords.js';

/** zod types that z.toJSONSchema writes as `{}` with `unrepresentable: 'any'`: any value, which they are not. */
const UNSEEN_TYPES = new Set(['date', 'bigint', 'symbol', 'undefined', 'void', 'nan', 'map', 'set', 'function', 'promise', 'file']);

/**
 * Numbers for the functions inside schemas (refinements, transforms), shared by both sides of one
 * comparison: the same function object gets the same number, so a refinement both versions share
 * reads as unchanged, and any other refinement as a difference.
 */
export class FunctionIds {
  readonly #ids = new WeakMap<object, number>();
  #next = 1;

  of(fn: unknown): string {
    if (typeof fn !== 'function' && (typeof fn !== 'object' || fn === null)) return String(fn);
    let id = this.#ids.get(fn);
    if (id === undefined) {
      id = this.#next;
      this.#next += 1;
      this.#ids.set(fn, id);
    }
    return String(id);
  }
}

/**
 * A zod schema's JSON Schema (`io: 'input'`, `unrepresentable: 'any'`), with what JSON Schema cannot
 * show marked under `x-llmstate-opaque` on the node it applies to: `refine#3` for a refinement,
 * `type:date` for a type it writes as `{}`, `coerce`, `transform#4`, `catch#5` …
 *
 * @throws {TypeError} when z.toJSONSchema cannot convert the schema.
 */
export function comparableJsonSchema(schema: z.ZodType, name: string, ids: FunctionIds): Record<string, unknown> {
  try {
    return z.toJSONSchema(schema, {
      io: 'input',
      unrepresentable: 'any',
      override: ({ zodSchema, jsonSchema }) => {
        const markers = markersFor(zodSchema._zod.def as unknown as ZodDef, ids);
        if (markers.length === 0) return;
        const existing = (jsonSchema as Record<string, unknown>)[OPAQUE_KEYWORD];
        (jsonSchema as Record<string, unknown>)[OPAQUE_KEYWORD] = [...new Set([...(Array.isArray(existing) ? existing : []), ...markers])];
      },
    }) as Record<string, unknown>;
  } catch (cause) {
    throw new TypeError(`Expected \`${name}\` to be a zod schema that z.toJSONSchema can convert; it failed with: ${(cause as Error).message}`, { cause });
  }
}

/** The parts of a zod definition the markers read. */
interface ZodDef {
  type: string;
  coerce?: boolean;
  checks?: ReadonlyArray<{ _zod: { def: { check: string; fn?: unknown } } }>;
  fn?: unknown;
  values?: readonly unknown[];
  transform?: unknown;
  out?: { _zod: { def: ZodDef } };
  catchValue?: unknown;
}

function markersFor(def: ZodDef, ids: FunctionIds): string[] {
  const markers: string[] = [];
  if (UNSEEN_TYPES.has(def.type)) markers.push(`type:${def.type}`);
  if (def.type === 'custom') markers.push(`custom#${ids.of(def.fn)}`);
  if (def.type === 'literal' && def.values?.some((value) => value === undefined || typeof value === 'bigint')) {
    markers.push(`literal:${def.values.map((value) => (typeof value === 'bigint' ? `${value}n` : String(value))).join('|')}`);
  }
  if (def.coerce === true) markers.push('coerce');
  for (const check of def.checks ?? []) {
    if (check._zod.def.check === 'custom') markers.push(`refine#${ids.of(check._zod.def.fn)}`);
  }
  if (def.type === 'transform') markers.push(`transform#${ids.of(def.transform)}`);
  if (def.type === 'pipe' && def.out !== undefined) {
    const out = def.out._zod.def;
    markers.push(`transform#${ids.of(out.type === 'transform' ? out.transform : def.out)}`);
  }
  if (def.type === 'catch') markers.push(`catch#${ids.of(def.catchValue)}`);
  if (def.type === 'success') markers.push('success');
  return markers;
}
