import type { Scope } from '../state/Scope.js';
import { normalizeKey } from '../state/keyRules.js';
import type { ListKeysOptions, StateManager, TransactionHandle, TransactionOptions, WriteOptions } from '../state/StateManager.js';
import type { HistoryEntry, TransactionWrite } from './history.js';
import { restartedError } from './restartedError.js';

/** A history entry while its call is under way. */
type OpenEntry = { -readonly [K in keyof HistoryEntry]: HistoryEntry[K] } & { writes?: TransactionWrite[]; reads?: Record<string, unknown> };

/** What the simulated state facade needs from its simulation. */
export interface StateSimulationPort {
  /**
   * The real facade of the runtime that takes calls now (after a restart under way, the next one), and
   * whether that runtime is still alive: a call that settles after its runtime crashed was cut off.
   */
  live(): Promise<{ state: StateManager; alive(): boolean }>;
  /** The name of the task making the call. */
  taskName(): string;
  /** A point where the scheduler may let anything else run first; the label goes in the trace. */
  point(label: string): Promise<void>;
  /** The next instant of the logical clock that orders the history. */
  tick(): number;
  record(entry: HistoryEntry): void;
  waiting(task: string, what: string | undefined): void;
}

/**
 * `sim.rt.state`: the runtime's own `rt.state`, with two scheduling points around each call (before it
 * reaches the runtime, and before its caller sees the result) and an entry in `sim.history` for it.
 * The points are where the scheduler interleaves tasks: it can hold one task's call back while another
 * task's runs to completion, which is how the races that the natural order hides are found.
 */
export class SimulatedState {
  readonly #port: StateSimulationPort;
  #nextId = 0;

  constructor(port: StateSimulationPort) {
    this.#port = port;
  }

  set(scope: Scope, key: string, value: unknown, options?: WriteOptions): Promise<void> {
    return this.#call({ op: 'set', scope, key: keyOf(key), value: snapshot(value) }, `set ${where(scope, key)} = ${show(value)}`, (state) => state.set(scope, key, value, options), () => ({}));
  }

  get<T = unknown>(scope: Scope, key: string): Promise<T | undefined> {
    return this.#call({ op: 'get', scope, key: keyOf(key) }, `get ${where(scope, key)}`, (state) => state.get<T>(scope, key), (value) => ({ value: snapshot(value) }), (value) => show(value));
  }

  delete(scope: Scope, key: string, options?: WriteOptions): Promise<boolean> {
    return this.#call({ op: 'delete', scope, key: keyOf(key) }, `delete ${where(scope, key)}`, (state) => state.delete(scope, key, options), (existed) => ({ existed }), String);
  }

  listKeys(scope: Scope, options: ListKeysOptions = {}): Promise<string[]> {
    return this.#call({ op: 'list', scope, key: prefixOf(options?.prefix) }, `list ${String(scope)}`, (state) => state.listKeys(scope, options), (keys) => ({ keys: [...keys] }), (keys) => JSON.stringify(keys));
  }

  clearScope(scope: Scope, options?: WriteOptions): Promise<number> {
    return this.#call({ op: 'clear', scope }, `clear ${String(scope)}`, (state) => state.clearScope(scope, options), (count) => ({ count }), String);
  }

  transaction<T>(scope: Scope, fn: (tx: TransactionHandle) => Promise<T> | T, options?: TransactionOptions): Promise<T> {
    // No prototype: a key may be called `constructor` or `toString`.
    const reads: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    const writes: TransactionWrite[] = [];
    const written = new Set<string>();
    const recording = (tx: TransactionHandle): TransactionHandle => ({
      get signal() {
        return tx.signal;
      },
      async get(key: string) {
        const value = await tx.get(key);
        // A read of a key the transaction already wrote sees its own write, not the store.
        const normalized = keyOf(key);
        if (!written.has(normalized) && !Object.hasOwn(reads, normalized)) reads[normalized] = snapshot(value);
        return value;
      },
      set(key: string, value: unknown) {
        tx.set(key, value);
        written.add(keyOf(key));
        writes.push({ key: keyOf(key), value: snapshot(value) });
      },
      delete(key: string) {
        tx.delete(key);
        written.add(keyOf(key));
        writes.push({ key: keyOf(key), deleted: true });
      },
    });
    return this.#call(
      { op: 'transaction', scope, reads, writes },
      `transaction ${String(scope)}`,
      (state) => state.transaction(scope, (tx) => fn(recording(tx)), options),
      () => ({}),
    );
  }

  async #call<T>(
    start: { op: HistoryEntry['op']; scope: Scope; key?: string; value?: unknown; reads?: Record<string, unknown>; writes?: TransactionWrite[] },
    label: string,
    invoke: (state: StateManager) => Promise<T>,
    result: (value: T) => Partial<HistoryEntry>,
    showResult?: (value: T) => string,
  ): Promise<T> {
    const port = this.#port;
    const task = port.taskName();
    port.waiting(task, label);
    await port.point(`${task}: ${label}`);
    const runtime = await port.live();
    // The call is made when the runtime gets it: the history's order of calls is the order in which
    // they reached the mailboxes, which is what FIFO per scope is about.
    const entry: OpenEntry = { id: this.#nextId++, task, ...start, scope: String(start.scope), outcome: 'unknown', call: port.tick() };
    port.record(entry);
    let value: T | undefined;
    let failure: unknown;
    let failed = false;
    try {
      value = await invoke(runtime.state);
    } catch (error) {
      failed = true;
      failure = error;
    }
    // The process died under the call: its caller hears nothing back, and the call may or may not
    // have taken effect.
    const cutOff = !runtime.alive();
    if (cutOff) {
      failed = true;
      failure = restartedError();
    }
    const outcome = failed ? `✗ ${describeError(failure)}` : showResult === undefined ? 'ok' : `→ ${showResult(value as T)}`;
    await port.point(`${task}: ${label} ${outcome}`);
    entry.return = port.tick();
    entry.outcome = cutOff ? 'unknown' : failed ? 'failed' : 'ok';
    if (failed) entry.error = describeError(failure);
    else Object.assign(entry, result(value as T));
    if (cutOff) delete entry.return;
    port.waiting(task, undefined);
    if (failed) throw failure;
    return value as T;
  }
}

/**
 * A copy of a value as it was at the call, for the history: the caller may change the object it wrote,
 * or the one it read, afterwards, and the history must not change with it. Values that are not JSON
 * data are refused by the runtime; they are kept as they are.
 */
function snapshot(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  try {
    return structuredClone(value);
  } catch {
    return value;
  }
}

function keyOf(key: string): string {
  try {
    return normalizeKey(key);
  } catch {
    return String(key);
  }
}

/** The prefix as the runtime matches it, in NFC like the keys it lists. */
function prefixOf(prefix: unknown): string {
  return typeof prefix === 'string' ? prefix.normalize('NFC') : String(prefix ?? '');
}

function where(scope: Scope, key: string): string {
  return `${String(scope)} ${JSON.stringify(key)}`;
}

function show(value: unknown): string {
  if (value === undefined) return 'none';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function describeError(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : error instanceof Error ? error.message : String(error);
}
