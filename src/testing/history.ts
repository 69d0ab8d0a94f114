/**
 * What a simulation records of the calls its tasks make to `rt.state`: one entry per call, with when it
 * reached the runtime and when its caller saw it settle, on the simulation's logical clock (a counter
 * that every recorded call and return advances, so no two entries share an instant). Entries are in the
 * order the calls reached the runtime.
 */
export interface HistoryEntry {
  /** The entry's position in the history. */
  readonly id: number;
  /** The task that made the call, as the trace names it. */
  readonly task: string;
  readonly op: 'get' | 'set' | 'delete' | 'clear' | 'list' | 'transaction';
  /** The scope, in its string form (`agent:a1`). */
  readonly scope: string;
  /** The key, for `get`, `set` and `delete`; the prefix, for `list`. */
  readonly key?: string;
  /** `set`: the value written. `get`: the value returned (undefined for none). */
  readonly value?: unknown;
  /** `delete`: whether the key existed, as returned. */
  readonly existed?: boolean;
  /** `clear`: how many keys it removed, as returned. */
  readonly count?: number;
  /** `list`: the keys returned. */
  readonly keys?: readonly string[];
  /**
   * `transaction`: the keys it read through `tx.get`, each with the value it saw (undefined for none), and
   * what it wrote, in the order written.
   */
  readonly reads?: Readonly<Record<string, unknown>>;
  readonly writes?: readonly TransactionWrite[];
  /**
   * `ok`: it returned. `failed`: it was rejected, which leaves no trace (DESIGN invariant 2). `unknown`:
   * it never settled, or was cut off by a restart, so a write may or may not have happened.
   */
  readonly outcome: 'ok' | 'failed' | 'unknown';
  /** The error code or message of a rejected call. */
  readonly error?: string;
  /** Logical time of the call: in a simulation, when the runtime got it. */
  readonly call: number;
  /** Logical time it settled; absent while it has not. */
  readonly return?: number;
}

/** One write of a transaction: a value set, or the key deleted. */
export type TransactionWrite = { readonly key: string; readonly value: unknown } | { readonly key: string; readonly deleted: true };

/** One line per entry, as a failure's counterexample shows it: `[3–7] task b: get global:n → 1`. */
export function describeEntry(entry: HistoryEntry): string {
  const span = `[${entry.call}–${entry.return ?? '…'}]`;
  return `${span} ${entry.task}: ${describeCall(entry)}${describeResult(entry)}`;
}

function describeCall(entry: HistoryEntry): string {
  const where = entry.key === undefined ? entry.scope : `${entry.scope} ${JSON.stringify(entry.key)}`;
  switch (entry.op) {
    case 'set':
      return `set ${where} = ${show(entry.value)}`;
    case 'transaction': {
      const reads = Object.entries(entry.reads ?? {}).map(([key, value]) => `${JSON.stringify(key)}=${show(value)}`);
      const writes = (entry.writes ?? []).map((write) => ('deleted' in write ? `delete ${JSON.stringify(write.key)}` : `${JSON.stringify(write.key)}=${show(write.value)}`));
      return `transaction ${entry.scope} reads {${reads.join(', ')}} writes {${writes.join(', ')}}`;
    }
    default:
      return `${entry.op} ${where}`;
  }
}

function describeResult(entry: HistoryEntry): string {
  if (entry.outcome === 'failed') return ` ✗ ${entry.error ?? 'rejected'}`;
  if (entry.outcome === 'unknown') return ' (did not settle)';
  switch (entry.op) {
    case 'get':
      return ` → ${show(entry.value)}`;
    case 'delete':
      return entry.existed === undefined ? '' : ` → ${entry.existed}`;
    case 'clear':
      return entry.count === undefined ? '' : ` → ${entry.count}`;
    case 'list':
      return entry.keys === undefined ? '' : ` → ${JSON.stringify(entry.keys)}`;
    default:
      return '';
  }
}

function show(value: unknown): string {
  return value === undefined ? 'none' : JSON.stringify(value);
}
