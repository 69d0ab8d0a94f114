import type { LoggedSet } from './runtimeProcess.js';

/**
 * What a write's caller was told: acknowledged; refused (an error that says nothing was written); or
 * unknown (the process died before it answered, or the store could not tell whether the commit landed).
 */
export type Outcome = 'acked' | 'refused' | 'unknown';

/**
 * A call as its caller saw it, on one clock (`performance.now()` of the test). A call is sent after
 * `sentAt` and answered before `settledAt`, so whatever it did in the store happened between the two.
 */
interface Call {
  scope: string;
  key: string;
  /** The process it was sent to. */
  by: string;
  sentAt: number;
  /** When its answer arrived; for a process that died first, when it was found dead. */
  settledAt: number;
}

export interface WriteRecord extends Call {
  /** Unique across the run, so that a value found anywhere names the one write that made it. */
  value: string;
  outcome: Outcome;
  /** The error, when it was not acknowledged. */
  code?: string;
  message?: string;
  /** The transaction it was one of the writes of, if any: they commit together or not at all. */
  transaction?: string;
}

export interface ReadRecord extends Call {
  /** What it read: a write's value, or null for nothing. */
  value: string | null;
}

/** A state record as a commit wrote it, seen from inside the commit's transaction. */
export interface AuditedWrite {
  /** The commit's number. */
  seq: number;
  scope: string;
  key: string;
  value: unknown;
  /** Who held the scope's lease, as the commit's transaction saw the lease table. */
  leaseOwner: string | undefined;
}

/** A successful hook execution, as its record has it. */
export interface Delivered {
  executionId: string;
  attempt: number;
  startedAt: number;
  durationMs: number;
  /** The process that ran it. */
  by: string | undefined;
}

export interface ChaosRecord {
  writes: WriteRecord[];
  reads: ReadRecord[];
  /** The value of every key written, as read at the end (null: nothing), by each process still running. */
  finalValues: Map<string, Map<string, string | null>>;
  events: LoggedSet[];
  audit: AuditedWrite[];
  /** For each `state.set` event id, the hook executions that succeeded with it. */
  deliveries: Map<string, Delivered[]>;
  /** Messages sent to chat agents (test/fixtures/chatMachine.ts): `scope` is the agent's, `value` the text. */
  says: WriteRecord[];
  /** The texts each chat agent's machine holds, as each process still running reads its record at the end. */
  chatTexts: Map<string, Map<string, string[]>>;
}

/** `scope key`, the name of one key of one scope in these records. */
export function keyName(scope: string, key: string): string {
  return `${scope} ${key}`;
}

/**
 * Everything in `record` that breaks DESIGN §3's invariants across processes (an empty list when nothing
 * does). The event log's order of a key's writes is taken as their order, and checked against what the
 * callers saw:
 * - every acknowledged write is logged; no refused write is logged, read or left; none is logged twice;
 * - a write acknowledged before another was sent is logged before it (the log keeps real-time order);
 * - a read returns the value of the last write logged before some moment while it was in flight: never
 *   nothing, or an older value, once a later write was acknowledged before it was sent;
 * - every process reads the key's last logged value at the end;
 * - each state record was written by the process that held its scope's lease in that commit (the fence),
 *   and the records written are the last logged write of each key in each commit, in that commit;
 * - the writes of a transaction are logged all in one commit, or none of them;
 * - every event has exactly one successful hook execution on record;
 * - a chat agent's machine holds every acknowledged message, no refused one, none twice, in real-time
 *   order, and every process reads the same;
 * - every write that failed was told why by a stable error code.
 */
export function chaosViolations(record: ChaosRecord): string[] {
  const violations: string[] = [];
  const byValue = new Map<string, WriteRecord>();
  for (const write of record.writes) {
    byValue.set(write.value, write);
    if (write.outcome !== 'acked' && write.code === undefined) violations.push(`${write.value} by ${write.by} failed with no error code: ${write.message}`);
  }
  const named = (name: string, value: unknown): WriteRecord | undefined => {
    const write = typeof value === 'string' ? byValue.get(value) : undefined;
    return write !== undefined && keyName(write.scope, write.key) === name ? write : undefined;
  };

  const logs = new Map<string, KeyLog>();
  for (const event of [...record.events].sort((a, b) => a.seq - b.seq)) {
    const name = keyName(event.scope, event.key);
    let log = logs.get(name);
    if (log === undefined) logs.set(name, (log = new KeyLog()));
    const write = named(name, event.value);
    if (write === undefined) violations.push(`${name}: event ${event.id} has ${JSON.stringify(event.value)}, no write of the key`);
    else if (write.outcome === 'refused') violations.push(`${name}: ${write.value} was refused (${write.code}) by ${write.by}, and is logged as ${event.id}`);
    else if (log.position.has(write.value)) violations.push(`${name}: ${write.value} is logged twice`);
    else log.append(write, event.seq);
  }

  const keys = new Set([...record.writes.map((write) => keyName(write.scope, write.key)), ...logs.keys()]);
  for (const name of keys) {
    const log = logs.get(name) ?? new KeyLog();
    for (const write of record.writes) {
      if (write.outcome === 'acked' && keyName(write.scope, write.key) === name && !log.position.has(write.value)) {
        violations.push(`${name}: acknowledged write ${write.value} (by ${write.by}) is not in the log`);
      }
    }
    for (let i = 0; i < log.writes.length; i++) {
      const later = log.firstSettledAfter(i);
      if (later !== undefined && later.settledAt < log.writes[i]!.sentAt) {
        violations.push(`${name}: ${later.value} was answered before ${log.writes[i]!.value} was sent, and is logged after it`);
      }
    }
    const last = log.writes.at(-1)?.value ?? null;
    for (const [by, values] of record.finalValues) {
      const final = values.get(name) ?? null;
      if (final !== last) violations.push(`${name}: ${by} reads ${JSON.stringify(final)} at the end, the log's last write is ${JSON.stringify(last)}`);
    }
  }

  for (const read of record.reads) {
    const name = keyName(read.scope, read.key);
    const log = logs.get(name) ?? new KeyLog();
    const where = `${name} read by ${read.by}`;
    if (read.value !== null && named(name, read.value) === undefined) {
      violations.push(`${where}: ${JSON.stringify(read.value)}, no write of the key`);
      continue;
    }
    const position = read.value === null ? -1 : log.position.get(read.value);
    if (position === undefined) {
      violations.push(`${where}: ${read.value}, which is not in the log`);
      continue;
    }
    if (position >= 0 && log.writes[position]!.sentAt > read.settledAt) violations.push(`${where}: ${read.value}, sent after the read was answered`);
    // Only acknowledged writes: a write whose process died was answered when the death was seen, and its
    // COMMIT, already sent, may land after that.
    const later = log.firstSettledAfter(position, true);
    if (later !== undefined && later.settledAt < read.sentAt) {
      violations.push(`${where}: ${JSON.stringify(read.value)}, though ${later.value}, logged after it, was answered before the read was sent`);
    }
  }

  const audited = new Map<string, AuditedWrite>();
  for (const row of record.audit) {
    const name = keyName(row.scope, row.key);
    const write = named(name, row.value);
    if (write === undefined) {
      violations.push(`${name}: a record of ${JSON.stringify(row.value)} was written, no write of the key`);
      continue;
    }
    audited.set(write.value, row);
    if (row.leaseOwner !== write.by) {
      violations.push(`${name}: ${write.value} was written by ${write.by} in commit ${row.seq}, while ${row.leaseOwner ?? 'no one'} held the lease`);
    }
  }
  // A commit keeps the last of the writes it carries to a key (each is logged): that one has the record.
  let lastOfCommits = 0;
  for (const [name, log] of logs) {
    for (const [i, write] of log.writes.entries()) {
      if (log.seqs[i + 1] === log.seqs[i]) continue;
      lastOfCommits += 1;
      const row = audited.get(write.value);
      if (row?.seq !== log.seqs[i]) violations.push(`${name}: ${write.value} is the key's last write in commit ${log.seqs[i]}, and has its record in ${row?.seq ?? 'none'}`);
    }
  }
  if (audited.size !== lastOfCommits) {
    violations.push(`${audited.size} state records were written, for the last writes of a key in ${lastOfCommits} commits`);
  }

  const transactions = new Map<string, WriteRecord[]>();
  for (const write of record.writes) {
    if (write.transaction !== undefined) transactions.set(write.transaction, [...(transactions.get(write.transaction) ?? []), write]);
  }
  const seqOf = new Map(record.events.map((event) => [event.value, event.seq]));
  for (const [transaction, writes] of transactions) {
    const seqs = new Set(writes.map((write) => seqOf.get(write.value)));
    if (seqs.size > 1) {
      const where = writes.map((write) => `${write.value} in ${seqOf.get(write.value) ?? 'none'}`).join(', ');
      violations.push(`transaction ${transaction} was not committed whole: ${where}`);
    }
  }

  for (const event of record.events) {
    const executions = record.deliveries.get(event.id) ?? [];
    if (executions.length !== 1) violations.push(`event ${event.id}: ${executions.length} successful hook executions on record ${JSON.stringify(executions)}`);
  }
  violations.push(...chatViolations(record.says, record.chatTexts));
  return violations;
}

/** What breaks the rules for chat agents: their texts are a log, as the event log is for keys. */
function chatViolations(says: WriteRecord[], chatTexts: Map<string, Map<string, string[]>>): string[] {
  const violations: string[] = [];
  const byText = new Map(says.map((say) => [say.value, say]));
  for (const say of says) {
    if (say.outcome !== 'acked' && say.code === undefined) violations.push(`${say.value} to ${say.scope} failed with no error code: ${say.message}`);
  }
  const agents = new Set(says.map((say) => say.scope));
  for (const scope of agents) {
    const views = [...chatTexts].map(([by, texts]) => [by, texts.get(scope) ?? []] as const);
    const distinct = new Set(views.map(([, texts]) => JSON.stringify(texts)));
    if (distinct.size > 1) violations.push(`${scope}: the processes read different texts at the end: ${JSON.stringify(Object.fromEntries(views))}`);
    const log = new KeyLog();
    for (const text of views[0]?.[1] ?? []) {
      const say = byText.get(text);
      if (say === undefined || say.scope !== scope) violations.push(`${scope}: ${JSON.stringify(text)} is no message sent to it`);
      else if (say.outcome === 'refused') violations.push(`${scope}: ${text} was refused (${say.code}) by ${say.by}, and the machine holds it`);
      else if (log.position.has(text)) violations.push(`${scope}: the machine holds ${text} twice`);
      else log.append(say, 0);
    }
    for (const say of says) {
      if (say.scope === scope && say.outcome === 'acked' && !log.position.has(say.value)) {
        violations.push(`${scope}: acknowledged message ${say.value} (by ${say.by}) is not in the machine's context`);
      }
    }
    for (let i = 0; i < log.writes.length; i++) {
      const later = log.firstSettledAfter(i);
      if (later !== undefined && later.settledAt < log.writes[i]!.sentAt) {
        violations.push(`${scope}: ${later.value} was answered before ${log.writes[i]!.value} was sent, and is held after it`);
      }
    }
  }
  return violations;
}

/** One key's writes in log order, with, from each position on, the one answered first. */
class KeyLog {
  readonly writes: WriteRecord[] = [];
  readonly seqs: number[] = [];
  readonly position = new Map<string, number>();
  readonly #firstSettled = new Map<boolean, Array<WriteRecord | undefined>>();

  append(write: WriteRecord, seq: number): void {
    this.position.set(write.value, this.writes.length);
    this.writes.push(write);
    this.seqs.push(seq);
  }

  /** Of the writes logged after position `i` (only the acknowledged ones, with `acked`), the one answered first. */
  firstSettledAfter(i: number, acked = false): WriteRecord | undefined {
    let first = this.#firstSettled.get(acked);
    if (first === undefined) {
      first = new Array<WriteRecord | undefined>(this.writes.length + 1);
      for (let j = this.writes.length - 1; j >= 0; j--) {
        const next = first[j + 1];
        const here = this.writes[j]!;
        const counts = !acked || here.outcome === 'acked';
        first[j] = counts && (next === undefined || here.settledAt < next.settledAt) ? here : next;
      }
      this.#firstSettled.set(acked, first);
    }
    return first[i + 1];
  }
}
