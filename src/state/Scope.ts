import { quoteForDisplay } from '../displayText.js';
import { LlmStateError } from '../errors.js';
import { normalizeScopeId } from './keyRules.js';

export const SCOPE_KINDS = ['global', 'agent', 'workflow', 'step', 'session', 'custom'] as const;
export type ScopeKind = (typeof SCOPE_KINDS)[number];

/** How many id parts each kind has in its identity. */
const ARITY: Record<ScopeKind, number> = { global: 0, agent: 1, workflow: 1, step: 2, session: 1, custom: 1 };

/**
 * Where a value lives. Each scope instance is owned by one actor, which serialises every write to it.
 *
 * The string form, used by the CLI and in events, is `global`, `agent:<id>`, `workflow:<id>`,
 * `step:<workflowId>/<stepName>`, `session:<id>` or `custom:<name>`. Everything after the first `:` is
 * the id, so ids may contain `:`. A step splits at its first `/`, so a workflow id that is used in a step
 * scope cannot contain `/`.
 *
 * @example
 * Scope.agent('a1').toString()            // 'agent:a1'
 * Scope.parse('step:w1/fetch').ids         // ['w1', 'fetch']
 */
export class Scope {
  readonly kind: ScopeKind;
  /** The id parts after NFC normalisation: none for global, two for a step, one otherwise. */
  readonly ids: readonly string[];
  readonly #text: string;

  private constructor(kind: ScopeKind, ids: string[]) {
    this.kind = kind;
    this.ids = Object.freeze(ids);
    this.#text = formatScope(kind, ids);
    // A scope is a value: access rules read its kind and ids, actors its string form; none may change.
    Object.freeze(this);
  }

  /** The one scope shared by everything. Readable by all principals. */
  static global(): Scope {
    return GLOBAL;
  }

  /** An agent's own state. @throws {SCOPE_INVALID} */
  static agent(id: string): Scope {
    return new Scope('agent', [normalizeScopeId(id, 'agent id')]);
  }

  /** @throws {SCOPE_INVALID} */
  static workflow(id: string): Scope {
    return new Scope('workflow', [normalizeScopeId(id, 'workflow id')]);
  }

  /** One step of a workflow. @throws {SCOPE_INVALID} when the workflow id contains `/`. */
  static step(workflowId: string, stepName: string): Scope {
    const workflow = normalizeScopeId(workflowId, 'workflow id');
    if (workflow.includes('/')) {
      throw new LlmStateError(
        'SCOPE_INVALID',
        `The workflow id ${quoteForDisplay(workflow)} of a step scope must not contain '/': the string form ` +
          `step:<workflowId>/<stepName> splits at the first '/' [rule: step-workflow-slash]`,
        { details: { rule: 'step-workflow-slash', id: workflowId } },
      );
    }
    return new Scope('step', [workflow, normalizeScopeId(stepName, 'step name')]);
  }

  /** @throws {SCOPE_INVALID} */
  static session(id: string): Scope {
    return new Scope('session', [normalizeScopeId(id, 'session id')]);
  }

  /** A named namespace of the user's choosing. @throws {SCOPE_INVALID} */
  static custom(name: string): Scope {
    return new Scope('custom', [normalizeScopeId(name, 'custom scope name')]);
  }

  /**
   * Reads the string form back.
   *
   * @throws {SCOPE_INVALID} for an unknown kind, a missing id, or an id that breaks the key rules.
   * @example Scope.parse('agent:a1').equals(Scope.agent('a1')) // true
   */
  static parse(text: string): Scope {
    if (typeof text !== 'string') {
      throw new LlmStateError('SCOPE_INVALID', `A scope must be a string like agent:a1, got ${typeof text}`);
    }
    if (text === 'global') return GLOBAL;
    const colon = text.indexOf(':');
    const kind = colon === -1 ? text : text.slice(0, colon);
    const rest = colon === -1 ? undefined : text.slice(colon + 1);
    switch (kind) {
      case 'agent':
        return Scope.agent(requireId(text, rest));
      case 'workflow':
        return Scope.workflow(requireId(text, rest));
      case 'session':
        return Scope.session(requireId(text, rest));
      case 'custom':
        return Scope.custom(requireId(text, rest));
      case 'step': {
        const id = requireId(text, rest);
        const slash = id.indexOf('/');
        if (slash === -1) throw invalidText(text, 'a step is written step:<workflowId>/<stepName>');
        return Scope.step(id.slice(0, slash), id.slice(slash + 1));
      }
      case 'global':
        throw invalidText(text, 'the global scope is written global, with nothing after it');
      default:
        throw invalidText(text, `the kind must be one of ${SCOPE_KINDS.join(', ')}`);
    }
  }

  /** True for a {@link Scope} made by this class (an object that merely inherits from one is not). */
  static isScope(value: unknown): value is Scope {
    return typeof value === 'object' && value !== null && #text in value;
  }

  /** How many id parts a scope of this kind has. @internal */
  static arity(kind: ScopeKind): number {
    return ARITY[kind];
  }

  /** Rebuilds a scope from already-validated parts, such as those decoded from a stored key. @internal */
  static fromParts(kind: ScopeKind, ids: string[]): Scope {
    return kind === 'global' ? GLOBAL : new Scope(kind, ids);
  }

  /** The first id: the agent id of an agent scope, the workflow id of a step. Undefined for global. */
  get id(): string | undefined {
    return this.ids[0];
  }

  equals(other: Scope): boolean {
    return Scope.isScope(other) && other.#text === this.#text;
  }

  toString(): string {
    return this.#text;
  }

  toJSON(): string {
    return this.#text;
  }
}

const GLOBAL = new (Scope as unknown as new (kind: ScopeKind, ids: string[]) => Scope)('global', []);

function formatScope(kind: ScopeKind, ids: string[]): string {
  if (kind === 'global') return 'global';
  return `${kind}:${ids.join('/')}`;
}

function requireId(text: string, rest: string | undefined): string {
  if (rest === undefined || rest.length === 0) throw invalidText(text, 'an id must follow the colon, as in agent:a1');
  return rest;
}

function invalidText(text: string, reason: string): LlmStateError {
  return new LlmStateError('SCOPE_INVALID', `Cannot read the scope ${quoteForDisplay(text)}: ${reason}`, {
    details: { rule: 'syntax', scope: text },
  });
}

/** Throws unless `scope` is a {@link Scope}. @internal */
export function assertScope(scope: unknown): asserts scope is Scope {
  if (!Scope.isScope(scope)) {
    throw new LlmStateError(
      'SCOPE_INVALID',
      `Expected a Scope (for example Scope.agent('a1')), got ${scope === null ? 'null' : typeof scope}`,
      { details: { rule: 'type' } },
    );
  }
}
