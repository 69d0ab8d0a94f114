import { describeEntry, type HistoryEntry } from './history.js';

/** What {@link checkLinearizable} found. */
export type LinearizabilityResult =
  | { readonly ok: true }
  | {
      readonly ok: false;
      /** The scope whose keys the counterexample is about. */
      readonly scope: string;
      /** The keys it touches (empty when only whole-scope calls are involved). */
      readonly keys: readonly string[];
      /** A smallest sub-history that is still not linearizable: remove any one entry and it is. */
      readonly counterexample: readonly HistoryEntry[];
      /** The counterexample, one line per entry, under a sentence saying what is wrong. */
      readonly message: string;
    };

export interface LinearizabilityOptions {
  /**
   * How many search steps one group of keys may take before the check gives up with a RangeError: the
   * search is exponential in how many calls overlap, and a history with hundreds of concurrent calls
   * on one key would not finish. @default 2000000
   */
  maxSteps?: number;
}

const DEFAULT_MAX_STEPS = 2_000_000;

/**
 * Checks a history of `rt.state` calls against the model of one register per key: every call takes
 * effect at one instant between its call and its return, in an order that explains every result.
 *
 * - `get` returns the value of the last `set` before it, or none after a `delete` or `clear`.
 * - `delete` reports whether the key existed; `clear` how many keys its scope held; `list` its keys.
 * - A `transaction` sees its reads and makes its writes at one instant.
 * - A rejected call had no effect (DESIGN invariant 2). A call that never settled may or may not have
 *   taken effect, at any instant after it was made.
 *
 * The store is taken to be empty before the first entry. Keys are checked independently, which is
 * what makes the check fast (a history is linearizable when each key's is); calls that span keys of a
 * scope (`clear`, `list`, transactions over several keys) join those keys into one group.
 *
 * This is the algorithm of Wing and Gong with Lowe's memoisation, as in Porcupine and Knossos.
 *
 * @throws {TypeError} for an entry that is not shaped like a {@link HistoryEntry}
 * @throws {RangeError} when a group of keys needs more than `maxSteps` search steps
 * @example
 * const result = checkLinearizable(sim.history);
 * if (!result.ok) console.log(result.message);
 */
export function checkLinearizable(history: readonly HistoryEntry[], options: LinearizabilityOptions = {}): LinearizabilityResult {
  if (!Array.isArray(history)) throw new TypeError(`Expected the history to be an array of entries, got ${typeof history}`);
  const maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS;
  if (!Number.isSafeInteger(maxSteps) || maxSteps < 1) throw new TypeError(`Expected \`maxSteps\` to be a positive integer, got ${String(maxSteps)}`);
  const operations: Operation[] = [];
  for (const entry of history) {
    checkEntry(entry);
    const operation = toOperation(entry);
    if (operation !== undefined) operations.push(operation);
  }
  for (const group of groupByCells(operations)) {
    if (isLinearizable(group, maxSteps)) continue;
    const minimal = shrink(group, maxSteps);
    return failure(minimal.map((operation) => operation.entry));
  }
  return { ok: true };
}

/** A history entry as the search sees it: when it can take effect, and what it does to the state. */
interface Operation {
  readonly entry: HistoryEntry;
  readonly call: number;
  /** Infinity for a call that never settled. */
  readonly return: number;
  /** The cells (scope and key) it touches; `scope` alone stands for every key of the scope. */
  readonly cells: readonly string[];
  readonly wholeScope: boolean;
  /** The state after the operation, or undefined when its result cannot be explained from `state`. */
  step(state: State): State | undefined;
}

/** Each key's value as canonical JSON, by cell. */
type State = ReadonlyMap<string, string>;

function cellOf(scope: string, key: string): string {
  return `${scope}\u0000${key}`;
}

function toOperation(entry: HistoryEntry): Operation | undefined {
  if (entry.outcome === 'failed') return undefined;
  const settled = entry.outcome === 'ok';
  const reads = entry.op === 'get' || entry.op === 'list';
  // A read that never returned shows nothing.
  if (!settled && reads) return undefined;
  const base = { entry, call: entry.call, return: settled ? entry.return! : Infinity };
  const scope = entry.scope;
  switch (entry.op) {
    case 'get': {
      const cell = cellOf(scope, entry.key!);
      const expected = canonical(entry.value);
      return { ...base, cells: [cell], wholeScope: false, step: (state) => (state.get(cell) === expected ? state : undefined) };
    }
    case 'set': {
      const cell = cellOf(scope, entry.key!);
      const value = canonical(entry.value)!;
      return { ...base, cells: [cell], wholeScope: false, step: (state) => withCell(state, cell, value) };
    }
    case 'delete': {
      const cell = cellOf(scope, entry.key!);
      const existed = settled ? entry.existed : undefined;
      return {
        ...base,
        cells: [cell],
        wholeScope: false,
        step: (state) => (existed !== undefined && state.has(cell) !== existed ? undefined : withCell(state, cell, undefined)),
      };
    }
    case 'clear': {
      const count = settled ? entry.count : undefined;
      const prefix = cellOf(scope, '');
      return {
        ...base,
        cells: [scope],
        wholeScope: true,
        step: (state) => {
          const held = [...state.keys()].filter((cell) => cell.startsWith(prefix));
          if (count !== undefined && held.length !== count) return undefined;
          const next = new Map(state);
          for (const cell of held) next.delete(cell);
          return next;
        },
      };
    }
    case 'list': {
      const prefix = cellOf(scope, entry.key ?? '');
      const expected = JSON.stringify([...(entry.keys ?? [])].sort());
      const skip = cellOf(scope, '').length;
      return {
        ...base,
        cells: [scope],
        wholeScope: true,
        step: (state) => {
          const held = [...state.keys()].filter((cell) => cell.startsWith(prefix)).map((cell) => cell.slice(skip));
          return JSON.stringify(held.sort()) === expected ? state : undefined;
        },
      };
    }
    case 'transaction': {
      const reads = settled ? Object.entries(entry.reads ?? {}).map(([key, value]) => [cellOf(scope, key), canonical(value)] as const) : [];
      const writes = (entry.writes ?? []).map((write) => [cellOf(scope, write.key), 'deleted' in write ? undefined : canonical(write.value)] as const);
      const cells = [...new Set([...reads.map(([cell]) => cell), ...writes.map(([cell]) => cell)])];
      // A transaction that read and wrote nothing constrains nothing.
      if (cells.length === 0) return undefined;
      return {
        ...base,
        cells,
        wholeScope: false,
        step: (state) => {
          for (const [cell, value] of reads) if (state.get(cell) !== value) return undefined;
          let next = state;
          for (const [cell, value] of writes) next = withCell(next, cell, value);
          return next;
        },
      };
    }
  }
}

function withCell(state: State, cell: string, value: string | undefined): State {
  const next = new Map(state);
  if (value === undefined) next.delete(cell);
  else next.set(cell, value);
  return next;
}

/** JSON with object keys sorted, so that equal values compare equal as text; undefined for none. */
function canonical(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) return inner;
    return Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  });
}

/** Operations split into groups that share no cell; a whole-scope operation joins every cell of its scope. */
function groupByCells(operations: Operation[]): Operation[][] {
  const parent = new Map<string, string>();
  const find = (cell: string): string => {
    if (!parent.has(cell)) parent.set(cell, cell);
    let root = cell;
    while (parent.get(root) !== root) root = parent.get(root)!;
    parent.set(cell, root);
    return root;
  };
  const union = (a: string, b: string) => parent.set(find(a), find(b));
  for (const operation of operations) {
    for (const cell of operation.cells) union(cell, operation.cells[0]);
  }
  // A key joins its scope's group only when some operation spans the scope, so that plain keys stay
  // apart and are checked one by one.
  const spanned = new Set(operations.filter((operation) => operation.wholeScope).map((operation) => operation.entry.scope));
  for (const cell of [...parent.keys()]) {
    const separator = cell.indexOf('\u0000');
    if (separator !== -1 && spanned.has(cell.slice(0, separator))) union(cell, cell.slice(0, separator));
  }
  const groups = new Map<string, Operation[]>();
  for (const operation of operations) {
    const root = find(operation.cells[0]);
    let group = groups.get(root);
    if (group === undefined) groups.set(root, (group = []));
    group.push(operation);
  }
  return [...groups.values()];
}

/** A node of the doubly linked list of call and return events the search walks. */
interface EventNode {
  readonly operation: number;
  readonly isCall: boolean;
  /** For a call, its return. */
  match: EventNode | undefined;
  prev: EventNode | undefined;
  next: EventNode | undefined;
}

/** @throws {RangeError} past `maxSteps` */
function isLinearizable(operations: readonly Operation[], maxSteps: number): boolean {
  const head = eventList(operations);
  const linearized = new Uint8Array(operations.length);
  const seen = new Set<string>();
  const stack: { node: EventNode; state: State }[] = [];
  let state: State = new Map();
  let node = head.next;
  let steps = 0;
  while (head.next !== undefined) {
    if (++steps > maxSteps) {
      throw new RangeError(`The history has too many overlapping calls on ${operations[0].entry.scope} to check within ${maxSteps} steps; check a shorter history, or raise maxSteps`);
    }
    if (node === undefined) return false;
    if (node.isCall) {
      const next = operations[node.operation].step(state);
      if (next !== undefined) {
        linearized[node.operation] = 1;
        const key = `${linearized.join('')}|${stateKey(next)}`;
        if (!seen.has(key)) {
          seen.add(key);
          stack.push({ node, state });
          state = next;
          lift(node);
          node = head.next;
          continue;
        }
        linearized[node.operation] = 0;
      }
      node = node.next;
    } else {
      // An operation returned before any order could place it: undo the last choice.
      const last = stack.pop();
      if (last === undefined) return false;
      state = last.state;
      linearized[last.node.operation] = 0;
      unlift(last.node);
      node = last.node.next;
    }
  }
  return true;
}

function eventList(operations: readonly Operation[]): EventNode {
  const events: { time: number; isCall: boolean; operation: number }[] = [];
  operations.forEach((operation, index) => {
    events.push({ time: operation.call, isCall: true, operation: index });
    events.push({ time: operation.return, isCall: false, operation: index });
  });
  // At the same instant, calls go first: the two are then taken as concurrent, which accepts more.
  events.sort((a, b) => a.time - b.time || Number(b.isCall) - Number(a.isCall) || a.operation - b.operation);
  const head: EventNode = { operation: -1, isCall: false, match: undefined, prev: undefined, next: undefined };
  const calls = new Map<number, EventNode>();
  let tail = head;
  for (const event of events) {
    const node: EventNode = { operation: event.operation, isCall: event.isCall, match: undefined, prev: tail, next: undefined };
    tail.next = node;
    tail = node;
    if (event.isCall) calls.set(event.operation, node);
    else calls.get(event.operation)!.match = node;
  }
  return head;
}

/** Takes a call and its return out of the list. */
function lift(call: EventNode): void {
  call.prev!.next = call.next;
  if (call.next !== undefined) call.next.prev = call.prev;
  const ret = call.match!;
  ret.prev!.next = ret.next;
  if (ret.next !== undefined) ret.next.prev = ret.prev;
}

/** Puts them back, in the reverse order. */
function unlift(call: EventNode): void {
  const ret = call.match!;
  ret.prev!.next = ret;
  if (ret.next !== undefined) ret.next.prev = ret;
  call.prev!.next = call;
  if (call.next !== undefined) call.next.prev = call;
}

function stateKey(state: State): string {
  return JSON.stringify([...state.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * Drops entries one at a time while what is left is still not linearizable. A write whose value a
 * read returned is kept, so that the counterexample tells the story (a stale read beside the write it
 * should have seen) rather than shrinking to a read of a value that nothing wrote.
 */
function shrink(operations: Operation[], maxSteps: number): Operation[] {
  let kept = operations;
  const explainedAtFirst = everyReadWritten(kept);
  for (let index = 0; index < kept.length; ) {
    const without = kept.filter((_, position) => position !== index);
    if (without.length > 0 && (!explainedAtFirst || everyReadWritten(without)) && !isLinearizable(without, maxSteps)) kept = without;
    else index++;
  }
  return kept;
}

/** Whether every value a read returned was written by one of `operations`. */
function everyReadWritten(operations: readonly Operation[]): boolean {
  const written = new Set<string>();
  for (const { entry } of operations) {
    if (entry.op === 'set') written.add(`${cellOf(entry.scope, entry.key!)}=${canonical(entry.value)}`);
    for (const write of entry.writes ?? []) if (!('deleted' in write)) written.add(`${cellOf(entry.scope, write.key)}=${canonical(write.value)}`);
  }
  return operations.every(({ entry }) => {
    const seen = entry.op === 'get' ? [[entry.key!, entry.value] as const] : Object.entries(entry.reads ?? {});
    return seen.every(([key, value]) => value === undefined || written.has(`${cellOf(entry.scope, key)}=${canonical(value)}`));
  });
}

function failure(entries: HistoryEntry[]): LinearizabilityResult {
  const ordered = [...entries].sort((a, b) => a.call - b.call);
  const scope = ordered[0].scope;
  const keys = [...new Set(ordered.flatMap(keysOf))];
  const where = keys.length === 0 ? scope : `${scope} ${keys.map((key) => JSON.stringify(key)).join(', ')}`;
  const message = [`No order of these ${ordered.length} calls on ${where} explains their results (the history is not linearizable):`, ...ordered.map((entry) => `  ${describeEntry(entry)}`)].join('\n');
  return { ok: false, scope, keys, counterexample: ordered, message };
}

function keysOf(entry: HistoryEntry): string[] {
  if (entry.op === 'transaction') return [...Object.keys(entry.reads ?? {}), ...(entry.writes ?? []).map((write) => write.key)];
  return entry.key === undefined || entry.op === 'list' ? [] : [entry.key];
}

const OPS = new Set(['get', 'set', 'delete', 'clear', 'list', 'transaction']);

/** @throws {TypeError} */
function checkEntry(entry: HistoryEntry): void {
  const fail = (what: string) => {
    throw new TypeError(`History entry ${typeof entry?.id === 'number' ? entry.id : JSON.stringify(entry)}: ${what}`);
  };
  if (typeof entry !== 'object' || entry === null) fail('expected an object');
  if (!OPS.has(entry.op)) fail(`\`op\` must be one of ${[...OPS].join(', ')}, got ${JSON.stringify(entry.op)}`);
  if (typeof entry.scope !== 'string') fail('`scope` must be the scope as a string');
  if ((entry.op === 'get' || entry.op === 'set' || entry.op === 'delete') && typeof entry.key !== 'string') fail(`a ${entry.op} needs its \`key\``);
  if (entry.outcome !== 'ok' && entry.outcome !== 'failed' && entry.outcome !== 'unknown') fail(`\`outcome\` must be ok, failed or unknown, got ${JSON.stringify(entry.outcome)}`);
  if (!Number.isFinite(entry.call)) fail('`call` must be a finite number');
  if (entry.outcome === 'ok') {
    if (!Number.isFinite(entry.return) || entry.return! < entry.call) fail('a settled call needs a `return` at or after its `call`');
    if (entry.op === 'set' && entry.value === undefined) fail('a set needs the `value` it wrote');
  }
}
