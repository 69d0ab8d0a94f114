import { z } from 'zod';
import type { ChildSpec, ChildTemplate } from './childSpec.js';
import { describeOption } from '../src/checkOptions.js';

/** The longest grace period a timer can wait for: Node fires longer timeouts at once. */
export const MAX_SHUTDOWN_MS = 2_147_483_647;

const aFunction = z.custom<(...args: never[]) => unknown>((value) => typeof value === 'function');

/** Each field's schema, whether it is required, and how a message describes what it expects. */
const SPEC_FIELDS = {
  id: { schema: z.string().min(1), required: true, expected: 'a non-empty string' },
  start: { schema: aFunction, required: true, expected: 'a function' },
  restart: {
    schema: z.enum(['permanent', 'transient', 'temporary']),
    required: false,
    expected: "'permanent', 'transient' or 'temporary'",
  },
  shutdown: {
    schema: z.union([z.number().int().min(0).max(MAX_SHUTDOWN_MS), z.enum(['brutal_kill', 'infinity'])]),
    required: false,
    expected: `a non-negative integer of ms up to ${MAX_SHUTDOWN_MS}, 'brutal_kill' or 'infinity'`,
  },
  type: { schema: z.enum(['worker', 'supervisor']), required: false, expected: "'worker' or 'supervisor'" },
} as const;

const TEMPLATE_FIELDS = {
  ...SPEC_FIELDS,
  id: { schema: aFunction, required: false, expected: 'a function from the start arguments to a child id' },
} as const;

type Fields = Record<string, { schema: z.ZodType; required: boolean; expected: string }>;

/**
 * Checks child specs without starting anything (OTP `check_childspecs/1`): each is an object whose `id` is a
 * non-empty string unique in the list, whose `start` is a function, and whose optional `restart`, `shutdown`
 * and `type` take one of their documented values. Unknown fields are rejected, to catch typos.
 *
 * @param name How messages name the list. @default 'children'
 * @throws {TypeError} reading like ``Expected `children[1].restart` to be 'permanent', 'transient' or 'temporary', got `'always'` (string)``.
 * @example
 * checkChildSpecs([{ id: 'a', start }, { id: 'b', start, restart: 'transient' }]);
 */
export function checkChildSpecs(specs: unknown, name = 'children'): asserts specs is ChildSpec[] {
  if (!Array.isArray(specs)) {
    throw new TypeError(`Expected \`${name}\` to be an array of child specs, got ${describeOption(specs)}`);
  }
  const seen = new Map<string, number>();
  specs.forEach((spec, index) => {
    const path = `${name}[${index}]`;
    checkChildSpec(spec, path);
    const earlier = seen.get(spec.id);
    if (earlier !== undefined) {
      throw new TypeError(`Expected \`${path}.id\` to be unique, got ${describeOption(spec.id)}, already used by \`${name}[${earlier}]\``);
    }
    seen.set(spec.id, index);
  });
}

/**
 * Checks one child spec; `path` names it in messages.
 *
 * @throws {TypeError} as {@link checkChildSpecs}.
 */
export function checkChildSpec(spec: unknown, path = 'spec'): asserts spec is ChildSpec {
  checkFields(spec, path, SPEC_FIELDS, 'a child spec');
}

/**
 * Checks the template of a `simple_one_for_one` supervisor: like a child spec, except that `id` is an optional
 * function of the start arguments.
 *
 * @throws {TypeError} as {@link checkChildSpecs}.
 */
export function checkChildTemplate(template: unknown, path = 'childTemplate'): asserts template is ChildTemplate<unknown> {
  checkFields(template, path, TEMPLATE_FIELDS, 'a child template');
}

function checkFields(value: unknown, path: string, fields: Fields, what: string): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`Expected \`${path}\` to be ${what} object, got ${describeOption(value)}`);
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!Object.hasOwn(fields, key)) {
      const known = Object.keys(fields).map((field) => `\`${field}\``);
      throw new TypeError(`Unknown field \`${path}.${key}\`; ${what} has ${known.slice(0, -1).join(', ')} and ${known.at(-1)}`);
    }
  }
  for (const [key, { schema, required, expected }] of Object.entries(fields)) {
    const field = record[key];
    if (field === undefined && !required) continue;
    if (!schema.safeParse(field).success) {
      throw new TypeError(`Expected \`${path}.${key}\` to be ${expected}, got ${describeOption(field)}`);
    }
  }
}
