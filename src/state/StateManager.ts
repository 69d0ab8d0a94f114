import { checkOptionsArgument, describeOption } from '../checkOptions.js';
import { checkCorrelationId, correlationForWrite, type CorrelationContext } from '../events/correlation.js';
import { normalizeKey } from './keyRules.js';
import { assertScope, SCOPE_KINDS, type Scope } from './Scope.js';
import { parseFrozen, serializeValue } from './values.js';
import { checkedUnit, checkEntriesRange, checkLimit, type EntriesRange, type OwnerPlan, type ScopesOptions, type StateUnit } from './stateUnit.js';

/** The transaction handle, as the facade needs to describe it. */
export interface TransactionHandle {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): void;
  delete(key: string): void;
  /**
   * Aborts when the transaction is abandoned (time limit or `close()`), with the `LlmStateError` the call
   * rejects with. `get`, `set` and `delete` then throw that error: nothing more will be written.
   */
  readonly signal: AbortSignal;
}

/** The single writer of one scope. Implemented by the actors layer; receives checked arguments only. */
export interface ScopeOwner {
  get(key: string): Promise<unknown>;
  set(key: string, json: string, context: CorrelationContext | undefined): Promise<void>;
  delete(key: string, context: CorrelationContext | undefined): Promise<boolean>;
  listKeys(prefix: string): Promise<string[]>;
  clear(context: CorrelationContext | undefined): Promise<number>;
  transaction<T>(
    fn: (tx: TransactionHandle) => Promise<T> | T,
    context: CorrelationContext | undefined,
    timeoutMs: number | undefined,
  ): Promise<T>;
  commitPlanned(reads: readonly string[], plan: (current: ReadonlyMap<string, unknown>) => OwnerPlan, context: CorrelationContext | undefined): Promise<unknown>;
  entries(range: EntriesRange): Promise<Array<[string, string]>>;
}

export interface StateManagerDeps {
  ownerOf(scope: Scope): ScopeOwner;
  /** What serves reads of `scope`: its owner, or the store when another process may own it. */
  readerOf(scope: Scope): Pick<ScopeOwner, 'get' | 'listKeys' | 'entries'>;
  /** Throws RUNTIME_CLOSED (or another code) when operations must be refused. */
  assertWritable(): void;
  assertReadable(): void;
  maxValueBytes: number;
  /** Committed scopes of a kind, by id prefix, after a scope: one seek per scope (see {@link StateManager.scopes}). */
  listScopes(kind: Scope['kind'], prefix: string, after: Scope | undefined, limit: number): Promise<Scope[]>;
}

/** Accepted by every write as its last argument. */
export interface WriteOptions {
  /** Records the write under this correlation id instead of the ambient one. */
  correlationId?: string;
}

/** Accepted by {@link StateManager.transaction} as its last argument. */
export interface TransactionOptions extends WriteOptions {
  /** This call's time limit, counted from when the callback starts. @default the runtime's `transactionTimeoutMs` (30000) */
  timeoutMs?: number;
}

export interface ListKeysOptions {
  /** Only keys that start with this. */
  prefix?: string;
}

/**
 * `rt.state`: scoped JSON values. Every call validates its arguments here, then goes to the actor that
 * owns the scope. Writes resolve only once durable (DESIGN §3).
 */
export class StateManager {
  readonly #deps: StateManagerDeps;
  /** Who this manager's writes record as acting: undefined for system (see {@link withPrincipal}). */
  readonly #principal: string | undefined;
  /** The context of a write made outside any other: contexts are never changed, so one serves them all. */
  readonly #alone: CorrelationContext | undefined;

  /** @internal */
  constructor(deps: StateManagerDeps, principal?: string) {
    this.#deps = deps;
    this.#principal = principal;
    this.#alone = principal === undefined ? undefined : Object.freeze({ principal });
  }

  /**
   * The same state, whose writes record `principal` as acting (undefined: system, whatever principal
   * the ambient context names). Access views write through one, rather than entering a correlation
   * context per call. @internal
   */
  withPrincipal(principal: string | undefined): StateManager {
    return new StateManager(this.#deps, principal);
  }

  /**
   * Stores `value` under `key`. Resolves once the write is committed to the store.
   *
   * @throws {STATE_KEY_INVALID} @throws {SCOPE_INVALID} @throws {VALUE_INVALID} @throws {VALUE_TOO_LARGE}
   * @throws {STORAGE_FAILED} the write left no trace. @throws {RUNTIME_CLOSED}
   * @example await rt.state.set(Scope.agent('a1'), 'topic', { name: 'weather' })
   */
  set(scope: Scope, key: string, value: unknown, options?: WriteOptions): Promise<void> {
    try {
      this.#deps.assertWritable();
      assertScope(scope);
      const normalized = normalizeKey(key);
      const json = serializeValue(value, this.#deps.maxValueBytes);
      return this.#deps.ownerOf(scope).set(normalized, json, this.#contextOf(options));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * The committed value, deeply frozen, or undefined when there is none.
   *
   * @throws {DATA_CORRUPT} the stored record failed its checksum; the bad value is not returned.
   * @example const topic = await rt.state.get(Scope.agent('a1'), 'topic')
   */
  get<T = unknown>(scope: Scope, key: string): Promise<T | undefined> {
    try {
      this.#deps.assertReadable();
      assertScope(scope);
      return this.#deps.readerOf(scope).get(normalizeKey(key)) as Promise<T | undefined>;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Removes `key`. Resolves with whether it existed.
   *
   * @example if (await rt.state.delete(Scope.agent('a1'), 'topic')) console.log('gone')
   */
  delete(scope: Scope, key: string, options?: WriteOptions): Promise<boolean> {
    try {
      this.#deps.assertWritable();
      assertScope(scope);
      return this.#deps.ownerOf(scope).delete(normalizeKey(key), this.#contextOf(options));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * The keys of a scope in key order (UTF-8 byte order, which is code point order).
   *
   * @example await rt.state.listKeys(Scope.global(), { prefix: 'cfg.' })
   */
  listKeys(scope: Scope, options: ListKeysOptions = {}): Promise<string[]> {
    try {
      this.#deps.assertReadable();
      assertScope(scope);
      checkOptionsArgument(options);
      const prefix = options.prefix ?? '';
      if (typeof prefix !== 'string') throw new TypeError(`Expected \`prefix\` to be a string, got ${describeOption(prefix)}`);
      return this.#deps.readerOf(scope).listKeys(prefix.normalize('NFC'));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Removes every key of a scope in one atomic batch. Resolves with how many were removed.
   *
   * @example const removed = await rt.state.clearScope(Scope.workflow('w1'))
   */
  clearScope(scope: Scope, options?: WriteOptions): Promise<number> {
    try {
      this.#deps.assertWritable();
      assertScope(scope);
      return this.#deps.ownerOf(scope).clear(this.#contextOf(options));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Runs `fn` with exclusive access to the scope; its writes commit as one batch when it resolves, or
   * not at all when it throws (the promise then rejects with what it threw). Other messages to the scope
   * wait until it finishes, so keep it short. Inside `fn`, use `tx`, not `rt.state`, for this scope.
   *
   * A callback still running `timeoutMs` after it started is abandoned: nothing is written, `tx.signal`
   * aborts, and the scope's other messages go on without waiting for it. `close()` abandons the same way
   * a transaction still open `closeGraceMs` after `close()` began.
   *
   * @throws {TRANSACTION_TIMEOUT} the callback ran past its time limit; nothing was written.
   * @throws {RUNTIME_CLOSED} the runtime closed before the callback finished; nothing was written.
   * @throws {STORAGE_FAILED} the batch failed; nothing was written.
   *
   * @example
   * await rt.state.transaction(Scope.agent('a1'), async (tx) => {
   *   const n = ((await tx.get('count')) as number | undefined) ?? 0;
   *   tx.set('count', n + 1);
   * });
   */
  transaction<T>(scope: Scope, fn: (tx: TransactionHandle) => Promise<T> | T, options?: TransactionOptions): Promise<T> {
    try {
      this.#deps.assertWritable();
      assertScope(scope);
      if (typeof fn !== 'function') throw new TypeError(`Expected the transaction callback to be a function, got ${typeof fn}`);
      const timeoutMs = options?.timeoutMs;
      if (timeoutMs !== undefined && !(Number.isSafeInteger(timeoutMs) && timeoutMs > 0)) {
        throw new TypeError(`Expected \`timeoutMs\` to be a positive integer, got ${describeOption(timeoutMs)}`);
      }
      return this.#deps.ownerOf(scope).transaction(fn, this.#contextOf(options), timeoutMs);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Commits a unit whose writes are planned from committed values, in one batch: see {@link StateUnit}.
   * Integrations built on the runtime use it (llmstate/langgraph). @internal
   */
  commitUnit<R = undefined>(scope: Scope, unit: StateUnit<R>, options?: WriteOptions): Promise<R | undefined> {
    try {
      this.#deps.assertWritable();
      assertScope(scope);
      const { reads, plan } = checkedUnit(scope, unit, this.#deps.maxValueBytes);
      return this.#deps.ownerOf(scope).commitPlanned(reads, plan, this.#contextOf(options)) as Promise<R | undefined>;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * The committed [key, value] pairs of a scope in key order (or reversed), at most `limit`, read in
   * mailbox order. Values are deeply frozen. @internal
   */
  async entries(scope: Scope, range: EntriesRange = {}): Promise<Array<[string, unknown]>> {
    this.#deps.assertReadable();
    assertScope(scope);
    const pairs = await this.#deps.readerOf(scope).entries(checkEntriesRange(range));
    return pairs.map(([key, json]) => [key, parseFrozen(json)]);
  }

  /**
   * Scopes of a kind that hold at least one committed key, whose id starts with `prefix`, in key order.
   * It reads one key per scope, not every key. @internal
   */
  scopes(options: ScopesOptions): Promise<Scope[]> {
    try {
      this.#deps.assertReadable();
      checkOptionsArgument(options, 'options', 'required');
      if (!(SCOPE_KINDS as readonly unknown[]).includes(options.kind)) throw new TypeError(`Expected \`kind\` to be one of ${SCOPE_KINDS.join(', ')}, got ${describeOption(options.kind)}`);
      const prefix = options.prefix ?? '';
      if (typeof prefix !== 'string') throw new TypeError(`Expected \`prefix\` to be a string, got ${describeOption(prefix)}`);
      if (options.after !== undefined) assertScope(options.after);
      const limit = options.limit === undefined ? Number.MAX_SAFE_INTEGER : checkLimit(options.limit);
      return this.#deps.listScopes(options.kind, prefix.normalize('NFC'), options.after, limit);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #contextOf(options: WriteOptions | undefined): CorrelationContext | undefined {
    const context = contextOf(options);
    return context === undefined ? this.#alone : actingAs(context, this.#principal);
  }
}

function contextOf(options: WriteOptions | undefined): CorrelationContext | undefined {
  if (options !== undefined) checkOptionsArgument(options);
  const explicit = options?.correlationId;
  if (explicit !== undefined) checkCorrelationId(explicit);
  return correlationForWrite(explicit);
}

/** `context` with `principal` as the one acting: the same object when it already says so. */
function actingAs(context: CorrelationContext | undefined, principal: string | undefined): CorrelationContext | undefined {
  if (context?.principal === principal) return context;
  if (principal !== undefined) return context === undefined ? { principal } : { ...context, principal };
  const { principal: _other, ...rest } = context!;
  return rest.correlationId === undefined ? undefined : rest;
}
