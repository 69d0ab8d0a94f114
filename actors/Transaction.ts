import { LlmStateError } from '../src/errors.js';
import { normalizeKey } from '../src/state/keyRules.js';
import type { Scope } from '../src/state/Scope.js';
import { parseFrozen, serializeValue } from '../src/state/values.js';
import type { Timers } from '../src/timers.js';
import type { KeyWrite } from './WriteUnit.js';

export type TransactionFn<T> = (tx: Transaction) => Promise<T> | T;

/** Reads a committed value; rejects with the signal's reason instead once it has aborted. */
export type CommittedReader = (key: string, signal: AbortSignal) => Promise<unknown>;

/** Node fires a longer timeout at once (TimeoutOverflowWarning), so longer limits wait this long. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The handle a transaction callback gets. Reads see the committed state plus the transaction's own
 * writes; writes are buffered and commit as one batch when the callback resolves. If the callback
 * throws, nothing is written.
 *
 * A transaction that runs past its time limit, or is still open when the runtime closes, is abandoned:
 * the call rejects at once, nothing is written, and {@link signal} aborts so the callback can stop.
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
  readonly #readCommitted: CommittedReader;
  readonly #controller = new AbortController();
  /** Last write per key, in first-write order; null is a delete. */
  readonly #writes = new Map<string, string | null>();
  /** Where a schema is bound, the `name@version` each pending value was validated against. */
  readonly #schemas = new Map<string, string>();
  readonly #schemaFor: ((key: string, json: string) => string | undefined) | undefined;
  #open = true;
  /** Set while the callback runs: rejects the run without waiting for the callback. */
  #stop: ((reason: LlmStateError) => void) | undefined;

  /** @internal */
  constructor(scope: Scope, maxValueBytes: number, readCommitted: CommittedReader, schemaFor?: (key: string, json: string) => string | undefined) {
    this.scope = scope;
    this.#schemaFor = schemaFor;
    this.#maxValueBytes = maxValueBytes;
    this.#readCommitted = readCommitted;
  }

  /**
   * Aborts when the transaction is abandoned, with the {@link LlmStateError} the call rejects with:
   * `TRANSACTION_TIMEOUT` after the time limit, `RUNTIME_CLOSED` when `close()` ends it. Pass it on to
   * `fetch` and the like, or check it, to stop work whose writes would be discarded anyway.
   */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /**
   * The value as this transaction sees it, deeply frozen, or undefined.
   * @throws {STATE_KEY_INVALID} @throws {TRANSACTION_TIMEOUT} @throws {RUNTIME_CLOSED} once abandoned.
   */
  async get(key: string): Promise<unknown> {
    this.#assertOpen();
    const normalized = normalizeKey(key);
    const pending = this.#writes.get(normalized);
    if (pending !== undefined) return pending === null ? undefined : parseFrozen(pending);
    return this.#readCommitted(normalized, this.#controller.signal);
  }

  /**
   * @throws {STATE_KEY_INVALID} @throws {VALUE_INVALID} @throws {VALUE_TOO_LARGE}
   * @throws {TRANSACTION_TIMEOUT} @throws {RUNTIME_CLOSED} once abandoned: the write would be discarded.
   */
  set(key: string, value: unknown): void {
    this.#assertOpen();
    const normalized = normalizeKey(key);
    const json = serializeValue(value, this.#maxValueBytes);
    const schema = this.#schemaFor?.(normalized, json);
    if (schema !== undefined) this.#schemas.set(normalized, schema);
    else this.#schemas.delete(normalized);
    this.#writes.set(normalized, json);
  }

  /** @throws {STATE_KEY_INVALID} @throws {TRANSACTION_TIMEOUT} @throws {RUNTIME_CLOSED} once abandoned. */
  delete(key: string): void {
    this.#assertOpen();
    this.#writes.set(normalizeKey(key), null);
  }

  /**
   * @internal Runs `fn` with this handle. Settles as the callback does, or rejects with
   * TRANSACTION_TIMEOUT once `timeoutMs` has passed, or with the reason given to {@link abort}, without
   * waiting for the callback; whatever it does afterwards is ignored.
   */
  run<T>(fn: TransactionFn<T>, timers: Timers, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = timers.setTimeout(() => this.abort(this.#timeoutError(timeoutMs)), Math.min(timeoutMs, MAX_TIMER_MS));
      this.#stop = (reason) => {
        timers.clearTimeout(timer);
        reject(reason);
      };
      const settle = (done: () => void): void => {
        if (this.#stop === undefined) return; // abandoned already: the caller has its answer
        this.#stop = undefined;
        timers.clearTimeout(timer);
        done();
      };
      let outcome: Promise<T>;
      try {
        outcome = Promise.resolve(fn(this));
      } catch (error) {
        outcome = Promise.reject(error);
      }
      outcome.then(
        (result) => settle(() => resolve(result)),
        (error: unknown) => settle(() => reject(error)),
      );
    });
  }

  /**
   * @internal Abandons a running callback: its run rejects with `reason` and {@link signal} aborts with
   * it. Does nothing once the callback has settled, since its writes are then being committed.
   */
  abort(reason: LlmStateError): void {
    const stop = this.#stop;
    if (stop === undefined) return;
    this.#stop = undefined;
    // Reject first, so the actor moves on whatever the abort listeners do.
    stop(reason);
    this.#controller.abort(reason);
  }

  /** @internal Closes the handle and returns the writes to commit, dropping deletes of absent keys. */
  async finish(exists: (key: string) => Promise<boolean>): Promise<KeyWrite[]> {
    this.#open = false;
    const writes: KeyWrite[] = [];
    for (const [key, json] of this.#writes) {
      if (json === null && !(await exists(key))) continue;
      const schema = json === null ? undefined : this.#schemas.get(key);
      writes.push(schema === undefined ? { key, json } : { key, json, schema });
    }
    return writes;
  }

  /** @internal */
  abandon(): void {
    this.#open = false;
    this.#writes.clear();
  }

  #assertOpen(): void {
    this.#controller.signal.throwIfAborted();
    if (!this.#open) {
      throw new TypeError(`The transaction on ${this.scope} has finished; use tx only inside its callback`);
    }
  }

  #timeoutError(timeoutMs: number): LlmStateError {
    return new LlmStateError(
      'TRANSACTION_TIMEOUT',
      `The transaction on ${this.scope} did not finish within ${timeoutMs} ms; nothing was written`,
      { details: { scope: this.scope.toString(), timeoutMs } },
    );
  }
}
