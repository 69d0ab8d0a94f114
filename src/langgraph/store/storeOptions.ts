import { z } from 'zod';
import { checkOptions, checkOptionsArgument } from '../../checkOptions.js';
import { CLOCK_OPTION, systemClock, type Clock } from '../../clock.js';

/** Time to live of store items, in minutes as LangGraph counts it. */
export interface StoreTtlOptions {
  /** The time to live of an item put without its own `ttl`. @default undefined (items never expire) */
  defaultTtl?: number;
  /**
   * Whether a read (`get`, `search`) that returns an item with a time to live restarts its clock. A
   * refresh is a write to the item's namespace. Each call can say otherwise with `refreshTtl`.
   * @default true
   */
  refreshOnRead?: boolean;
}

/** Options of {@link LlmStateStore}. */
export interface LlmStateStoreOptions {
  /** Source of time for timestamps and expiry, for tests. @default the system clock */
  clock?: Clock;
  /** Time to live of items. @default items never expire unless a put gives a `ttl` */
  ttl?: StoreTtlOptions;
}

export interface ResolvedStoreOptions {
  clock: Clock;
  defaultTtl: number | undefined;
  refreshOnRead: boolean;
}

export const DEFAULT_STORE_OPTIONS = { clock: systemClock, defaultTtl: undefined, refreshOnRead: true } as const satisfies ResolvedStoreOptions;

const POSITIVE_MINUTES = [z.number().positive().finite(), 'a positive number of minutes'] as const;

/** Refuses the one LangGraph store option this store leaves out: vector search. */
const VECTOR_SEARCH_REFUSAL =
  'LlmStateStore does not support vector search, so it refuses the `index` option (embeddings). ' +
  'Search items with `filter`, or keep embeddings in a vector store of their own.';

/**
 * Checks the constructor's options once and fills their defaults.
 *
 * @throws {TypeError} for an unknown option, a bad value, or `index` (vector search is not supported).
 */
export function resolveStoreOptions(input: unknown): ResolvedStoreOptions {
  checkOptionsArgument(input);
  if (input !== undefined && Object.hasOwn(input as object, 'index')) throw new TypeError(VECTOR_SEARCH_REFUSAL);
  const options = checkOptions(input ?? {}, { clock: CLOCK_OPTION, ttl: [z.unknown(), 'an object'] });
  const ttl =
    options.ttl === undefined
      ? {}
      : checkOptions(
          options.ttl,
          { defaultTtl: POSITIVE_MINUTES, refreshOnRead: [z.boolean(), 'a boolean'] },
          { nested: { path: 'ttl', kind: 'a TTL policy' } },
        );
  return {
    clock: options.clock ?? DEFAULT_STORE_OPTIONS.clock,
    defaultTtl: ttl.defaultTtl,
    refreshOnRead: ttl.refreshOnRead ?? DEFAULT_STORE_OPTIONS.refreshOnRead,
  };
}
