import type { z } from 'zod';
import type { WriteGuard } from '../../actors/WriteGuard.js';
import { escapeForDisplay, shortenForDisplay } from '../displayText.js';
import { LlmStateError } from '../errors.js';
import type { Scope } from '../state/Scope.js';
import type { SchemaRegistry } from './SchemaRegistry.js';

/** One issue zod found, as `SCHEMA_INVALID` reports it. */
export interface SchemaIssue {
  path: string;
  message: string;
  code: string;
}

/** What a migration does with the keys it holds. */
export interface SchemaHold {
  holdReads(): void;
  release(): void;
  /** The migration committed but could not be applied: refuse its keys until something finishes it. */
  fail(error: LlmStateError): void;
}

/** The keys a running migration holds: writes to them wait, and reads too while its records are applied. */
export interface MigrationHold {
  readonly schema: string;
  readonly readsHeld: boolean;
  readonly released: Promise<void>;
  /** The migration committed but could not apply its records: `released` has rejected. */
  readonly failed?: boolean;
}

/**
 * The schema layer's answer to a scope actor about to take a write: validates values where a schema is
 * bound and names the version in the record, and makes operations on keys a migration holds wait.
 */
export class SchemaGuard implements WriteGuard {
  readonly #registry: SchemaRegistry;
  #holds: MigrationHold[] = [];

  constructor(registry: SchemaRegistry) {
    this.#registry = registry;
  }

  get active(): boolean {
    return this.#registry.hasBindings || this.#holds.length > 0;
  }

  schemaFor(scope: Scope, key: string, json: string): string | undefined {
    const binding = this.#registry.bindingFor(scope, key);
    if (binding === undefined) return undefined;
    const version = this.#registry.current(binding.schema)!;
    const ref = `${binding.schema}@${version}`;
    const validator = this.#registry.validator(binding.schema, version);
    if (validator === undefined) {
      throw new LlmStateError(
        'SCHEMA_INVALID',
        `${scope} ${escapeForDisplay(shortenForDisplay(key))} is bound to schema ${ref}, which this process cannot validate: its stored JSON Schema has no zod form. Register the schema from the application's code first`,
        { details: { scope: scope.toString(), key, schema: ref, issues: [] } },
      );
    }
    const issues = validate(validator, JSON.parse(json));
    if (issues !== undefined) throw schemaInvalid(scope.toString(), key, ref, issues);
    return ref;
  }

  hold(scope: Scope, key: string | undefined, access: 'read' | 'write'): Promise<void> | undefined {
    for (const hold of this.#holds) {
      if (access === 'read' && !hold.readsHeld) continue;
      if (key === undefined ? this.mayHold(hold.schema, scope) : this.#registry.bindingFor(scope, key)?.schema === hold.schema) return hold.released;
    }
    return undefined;
  }

  /**
   * Holds the keys of `schema` until `release` is called; reads too once `holdReads` is. After `fail`,
   * every operation waiting on those keys, and every later one, rejects with its error.
   */
  holdSchema(schema: string): SchemaHold {
    let release!: () => void;
    let refuse!: (error: LlmStateError) => void;
    const released = new Promise<void>((resolve, reject) => {
      release = resolve;
      refuse = reject;
    });
    // Each waiter handles the outcome; this one only keeps a refusal nobody waits for from being reported as unhandled.
    released.catch(() => {});
    let hold: MigrationHold = { schema, readsHeld: false, released };
    this.#holds = [...this.#holds, hold];
    const replace = (next: MigrationHold) => {
      this.#holds = this.#holds.map((known) => (known === hold ? next : known));
      hold = next;
    };
    return {
      holdReads: () => replace({ ...hold, readsHeld: true }),
      release: () => {
        this.#holds = this.#holds.filter((known) => known !== hold);
        release();
      },
      fail: (error) => {
        replace({ ...hold, readsHeld: true, failed: true });
        refuse(error);
      },
    };
  }

  /** Lifts the refusals of a failed migration of `schema`, once its records are applied after all (or were never in this store). */
  releaseFailed(schema?: string): void {
    this.#holds = this.#holds.filter((hold) => hold.failed !== true || (schema !== undefined && hold.schema !== schema));
  }

  /** Whether some key of `scope` may belong to `schema`: for operations on a whole scope. */
  mayHold(schema: string, scope: Scope): boolean {
    return this.#registry.bindings(schema).some((binding) => binding.scopeKind === undefined || binding.scopeKind === scope.kind);
  }
}

/**
 * zod's issues with `value`, or undefined when it is valid. A schema that cannot be checked synchronously
 * (an async refinement) makes one issue of that, rather than an error of zod's own.
 */
export function validate(validator: z.ZodType, value: unknown): SchemaIssue[] | undefined {
  try {
    const result = validator.safeParse(value);
    return result.success ? undefined : issuesOf(result.error.issues);
  } catch (error) {
    return [{ path: '', message: `the schema cannot be checked synchronously (${(error as Error).message})`, code: 'custom' }];
  }
}

export function issuesOf(issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string; code: string }>): SchemaIssue[] {
  return issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message, code: issue.code }));
}

export function schemaInvalid(scope: string, key: string, ref: string, issues: SchemaIssue[]): LlmStateError {
  const shown = issues
    .slice(0, 3)
    .map((issue) => `${issue.path === '' ? '(the value)' : issue.path}: ${issue.message}`)
    .join('; ');
  const more = issues.length > 3 ? ` (and ${issues.length - 3} more)` : '';
  return new LlmStateError('SCHEMA_INVALID', escapeForDisplay(`The value for ${scope} ${shortenForDisplay(key)} does not match schema ${ref}: ${shown}${more}`), {
    details: { scope, key, schema: ref, issues },
  });
}
