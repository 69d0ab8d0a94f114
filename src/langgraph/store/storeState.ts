import type { Scope, ScopeKind, WriteOptions } from '../../index.js';

/** What a unit commits on one scope, built inside its actor (the state seam for integrations). */
export interface UnitPlan<R> {
  readonly writes?: ReadonlyArray<{ readonly key: string; readonly value: unknown }>;
  readonly result?: R;
}

export interface Unit<R> {
  readonly reads?: readonly string[];
  build(current: ReadonlyMap<string, unknown>): UnitPlan<R>;
}

/**
 * The part of `rt.state` the store uses: plain reads, the scope listing, and units that read and write
 * one scope in its actor, in one batch. A runtime's `state` and an access view's both have it.
 */
export interface StoreState {
  get(scope: Scope, key: string): Promise<unknown>;
  commitUnit<R>(scope: Scope, unit: Unit<R>, options?: WriteOptions): Promise<R | undefined>;
  entries(
    scope: Scope,
    range?: { prefix?: string; gt?: string; limit?: number },
  ): Promise<Array<[string, unknown]>>;
  scopes(options: { kind: ScopeKind; prefix?: string; after?: Scope; limit?: number }): Promise<Scope[]>;
}
