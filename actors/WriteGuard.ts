import type { Scope } from '../src/state/Scope.js';

/**
 * What a scope actor asks before it takes a write: which schema the value must match, and whether a
 * migration holds the key. Implemented by the schema layer; {@link NO_GUARD} while nothing is bound.
 */
export interface WriteGuard {
  /** False while no schema is bound and no migration runs: actors then skip the guard entirely. */
  readonly active: boolean;
  /**
   * The schema (`name@version`) a value written at `key` is validated against, or undefined where
   * nothing is bound. Parses `json` only where something is bound.
   * @throws {SCHEMA_INVALID} with zod's issues.
   */
  schemaFor(scope: Scope, key: string, json: string): string | undefined;
  /**
   * Something to wait for before reading or writing `key` (undefined: the whole scope, for a clear or a
   * transaction), or undefined to go ahead now. A migration holds the keys it changes.
   */
  hold(scope: Scope, key: string | undefined, access: 'read' | 'write'): Promise<void> | undefined;
}

export const NO_GUARD: WriteGuard = {
  active: false,
  schemaFor: () => undefined,
  hold: () => undefined,
};
