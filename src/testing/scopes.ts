import fc from 'fast-check';
import { z } from 'zod';
import { checkOptions } from '../checkOptions.js';
import { LlmStateError } from '../errors.js';
import { MAX_SCOPE_ID_LENGTH, normalizeScopeId } from '../state/keyRules.js';
import { Scope, SCOPE_KINDS, type ScopeKind } from '../state/Scope.js';
import { AWKWARD_ID_POOL, namePool, validNames } from './names.js';

/** Which scopes {@link scopes} draws. */
export interface ScopesOptions {
  /** Only these kinds. @default every kind: global, agent, workflow, step, session, custom */
  kinds?: readonly ScopeKind[];
  /**
   * Draw every id from a fixed pool, so that scopes collide: a number takes that many ids from a
   * built-in list (with `awkward`, `'a'`, `'ü'`, `'u\u0308'`, `'a:b'` … of which the second and third are
   * one id spelt two ways), an array is the pool itself. A step's workflow id comes from the ids
   * without a `/`. @default no pool
   */
  ids?: number | readonly string[];
  /**
   * Include ids that the rules allow but careless code gets wrong (non-ASCII, NFD spellings, `:` and
   * `/` inside). Without it, ids are ASCII letters, digits, `.`, `_`, `-` and `/`. @default true
   */
  awkward?: boolean;
}

const FIELDS = {
  kinds: [z.array(z.enum(SCOPE_KINDS)).min(1), `a non-empty array of scope kinds (${SCOPE_KINDS.join(', ')})`],
  ids: [z.union([z.number().int().min(1).max(64), z.array(z.string()).min(1)]), 'a pool size from 1 to 64, or a non-empty array of scope ids'],
  awkward: [z.boolean(), 'a boolean'],
} as const;

/**
 * Scopes of every kind, with ids by the rules of DESIGN §4. Two scopes are the same scope when
 * `a.equals(b)`, or when their string forms are equal.
 *
 * @throws {TypeError} for options of the wrong shape, an id in `ids` that breaks the rules, or `ids`
 * with no id a step's workflow can take
 * @example
 * // Agent and session scopes over two ids, so that writes from different tasks meet.
 * const scope = scopes({ kinds: ['agent', 'session'], ids: ['a1', 'a2'] });
 * fc.sample(scope, 3).map(String); // for example ['agent:a2', 'session:a1', 'agent:a1']
 */
export function scopes(options: ScopesOptions = {}): fc.Arbitrary<Scope> {
  const { kinds = SCOPE_KINDS, ids, awkward = true } = checkOptions(options, FIELDS);
  let anyId: fc.Arbitrary<string>;
  let workflowId: fc.Arbitrary<string>;
  if (ids === undefined) {
    anyId = validNames({ maxLength: MAX_SCOPE_ID_LENGTH, awkward });
    workflowId = validNames({ maxLength: MAX_SCOPE_ID_LENGTH, awkward, noSlash: true });
  } else {
    const pool = typeof ids === 'number' ? namePool(ids, awkward, AWKWARD_ID_POOL) : [...ids];
    for (const id of pool) checkPoolId(id);
    const workflowPool = pool.filter((id) => !id.normalize('NFC').includes('/'));
    if (workflowPool.length === 0 && kinds.includes('step')) {
      throw new TypeError("Expected `ids` to hold an id without '/' for the workflow of a step scope, or `kinds` without 'step'");
    }
    anyId = fc.constantFrom(...pool);
    workflowId = workflowPool.length === 0 ? anyId : fc.constantFrom(...workflowPool);
  }
  const byKind: Record<ScopeKind, fc.Arbitrary<Scope>> = {
    global: fc.constant(Scope.global()),
    agent: anyId.map((id) => Scope.agent(id)),
    workflow: anyId.map((id) => Scope.workflow(id)),
    step: fc.tuple(workflowId, anyId).map(([workflow, step]) => Scope.step(workflow, step)),
    session: anyId.map((id) => Scope.session(id)),
    custom: anyId.map((name) => Scope.custom(name)),
  };
  return fc.oneof(...[...new Set(kinds)].map((kind) => byKind[kind]));
}

function checkPoolId(id: string): void {
  try {
    normalizeScopeId(id, 'scope id');
  } catch (error) {
    if (!(error instanceof LlmStateError)) throw error;
    throw new TypeError(`Expected \`ids\` to hold valid scope ids, got ${JSON.stringify(id)}, which breaks the rule ${String(error.details?.rule)}`);
  }
}
