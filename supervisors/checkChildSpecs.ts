import { z } from 'zod';
import type { ChildSpec, ChildTemplate } from './childSpec.js';
import { checkOptions, describeOption } from '../src/checkOptions.js';

/** The longest grace period a timer can wait for: Node fires longer timeouts at once. */
export const MAX_SHUTDOWN_MS = 2_147_483_647;

const aFunction = z.custom<(...args: never[]) => unknown>((value) => typeof value === 'function');

/** Each field's schema, and how a message describes what it expects. */
const SPEC_FIELDS = {
  id: [z.string().min(1), 'a non-empty string'],
  start: [aFunction, 'a function'],
  restart: [z.enum(['permanent', 'transient', 'temporary']), "'permanent', 'transient' or 'temporary'"],
  shutdown: [
    z.union([z.number().int().min(0).max(MAX_SHUTDOWN_MS), z.enum(['brutal_kill', 'infinity'])]),
    `a non-negative integer of ms up to ${MAX_SHUTDOWN_MS}, 'brutal_kill' or 'infinity'`,
  ],
  type: [z.enum(['worker', 'supervisor']), "'worker' or 'supervisor'"],
} as const;

const TEMPLATE_FIELDS = {
  ...SPEC_FIELDS,
  id: [aFunction, 'a function from the start arguments to a child id'],
} as const;

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
  checkOptions(spec, SPEC_FIELDS, { required: ['id', 'start'], nested: { path, kind: 'a child spec' } });
}

/**
 * Checks the template of a `simple_one_for_one` supervisor: like a child spec, except that `id` is an optional
 * function of the start arguments.
 *
 * @throws {TypeError} as {@link checkChildSpecs}.
 */
export function checkChildTemplate(template: unknown, path = 'childTemplate'): asserts template is ChildTemplate<unknown> {
  checkOptions(template, TEMPLATE_FIELDS, { required: ['start'], nested: { path, kind: 'a child template' } });
}
