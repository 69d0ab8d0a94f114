import { normalizeKey } from '../src/state/keyRules.js';
import type { Scope } from '../src/state/Scope.js';
import { parseFrozen, serializeValue } from '../src/state/values.js';
import type { KeyWrite } from './WriteUnit.js';

export type TransactionFn<T> = (tx: Transaction) => Promise<T> | T;

/**
 * The handle a transaction callback gets. Reads see the committed state plus the transaction's own
 * writes; writes are buffered and commit as one batch when the callback resolves. If the callback
 * throws, nothing is written.
 *
 * @example
 * await rt.state.transaction(Scope.agent('a1'), async (tx) => {
 *   const n = ((await tx.get('count')) as number | undefined) ?? 0;
 *   tx.set('count', n + 1);
 * });
 */
export class Transaction {
  readonly scope: Scope;
  readonly #maxValueBytes: number;
  readonly #readCommitted: (key: string) => Promise<unknown>;
  /** Last write per key, in first-write order; null is a delete. */
  readonly #writes = new Map<string, string | null>();
  #open = true;

  /** @internal */
  constructor(scope: Scope, maxValueBytes: number, readCommitted: (key: string) => Promise<unknown>) {
    this.scope = scope;
    this.#maxValueBytes = maxValueBytes;
    this.#readCommitted = readCommitted;
  }

  /** The value as this transaction sees it, deeply frozen, or undefined. @throws {STATE_KEY_INVALID} */
  async get(key: string): Promise<unknown> {
    this.#assertOpen();
    const normalized = normalizeKey(key);
    const pending = this.#writes.get(normalized);
    if (pending !== undefined) return pending === null ? undefined : parseFrozen(pending);
    return this.#readCommitted(normalized);
  }

  /** @throws {STATE_KEY_INVALID} @throws {VALUE_INVALID} @throws {VALUE_TOO_LARGE} */
  set(key: string, value: unknown): void {
    this.#assertOpen();
    this.#writes.set(normalizeKey(key), serializeValue(value, this.#maxValueBytes));
  }

  /** @throws {STATE_KEY_INVALID} */
  delete(key: string): void {
    this.#assertOpen();
    this.#writes.set(normalizeKey(key), null);
  }

  /** @internal Closes the handle and returns the writes to commit, dropping deletes of absent keys. */
  async finish(exists: (key: string) => Promise<boolean>): Promise<KeyWrite[]> {
    this.#open = false;
    const writes: KeyWrite[] = [];
    for (const [key, json] of this.#writes) {
      if (json === null && !(await exists(key))) continue;
      writes.push({ key, json });
    }
    return writes;
  }

  /** @internal */
  abandon(): void {
    this.#open = false;
  }

  #assertOpen(): void {
    if (!this.#open) {
      throw new TypeError(`The transaction on ${this.scope} has finished; use tx only inside its callback`);
    }
  }
}
