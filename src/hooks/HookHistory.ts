import { checkQueryFields, describeOption } from '../checkOptions.js';
import { LlmStateError } from '../errors.js';
import { Serial } from '../Serial.js';
import { decodeCommitRecord, encodeSeqKey, type LoggedEvent } from '../events/eventLog.js';
import type { BatchOp, StorageBackend } from '../storage/index.js';
import { decodeExecution, decodeExecutionMeta, encodeExecution, executionIdTime, withInputStored, type ExecutionMeta, type StoredExecution } from './executionRecord.js';
import type { ExecutionStatus, HookExecution, HookExecutionMetadata } from './types.js';

/** What {@link HookHistory.query} selects; every given field must match. */
export interface HistoryFilter {
  hookName?: string;
  /** Executions on this correlation's story: triggered by its events, directly or through actions. */
  correlationId?: string;
  /** Executions that received this event. */
  eventId?: string;
  status?: ExecutionStatus | ExecutionStatus[];
  /** `exclude` leaves replays out, `only` keeps just them. @default 'include' */
  replays?: 'include' | 'exclude' | 'only';
  /** Started at or after this time. */
  from?: Date | number;
  /** Started at or before this time. */
  to?: Date | number;
  /** @default 100 */
  limit?: number;
  /** Newest first instead of oldest first. @default false */
  newestFirst?: boolean;
}

const STATUSES: readonly ExecutionStatus[] = ['succeeded', 'failed', 'timed_out'];

/** @throws {TypeError} for a filter field of the wrong shape, as `rt.events.query` does. */
export function checkHistoryFilter(filter: HistoryFilter): void {
  if (typeof filter !== 'object' || filter === null) throw new TypeError(`Expected the history filter to be an object, got ${describeOption(filter)}`);
  const { hookName, correlationId, eventId, status, replays, from, to, limit, newestFirst } = filter;
  checkQueryFields({ text: { hookName, correlationId, eventId }, times: { from, to }, limit });
  if (status !== undefined && !(Array.isArray(status) ? status : [status]).every((one) => STATUSES.includes(one))) {
    throw new TypeError(`Expected \`status\` to be one or more of ${STATUSES.join(', ')}, got \`${JSON.stringify(status)}\``);
  }
  if (replays !== undefined && !['include', 'exclude', 'only'].includes(replays)) {
    throw new TypeError(`Expected \`replays\` to be include, exclude or only, got ${describeOption(replays)}`);
  }
  if (newestFirst !== undefined && typeof newestFirst !== 'boolean') {
    throw new TypeError(`Expected \`newestFirst\` to be a boolean, got ${describeOption(newestFirst)}`);
  }
}

/** How much history is kept. Priority extends it: see {@link HookHistory.prune}. */
export interface HistoryRetention {
  /** @default 604800000 (7 days) */
  maxAgeMs?: number;
  /** @default 100000 */
  maxCount?: number;
  /** @default 268435456 (256 MiB) */
  maxBytes?: number;
}

export interface PruneResult {
  removed: number;
  removedBytes: number;
  kept: number;
  keptBytes: number;
}

const DEFAULT_LIMIT = 100;
const EVENT_ID = /^(\d+)\.\d+$/;
const NUL = Buffer.from([0]);

/**
 * Automatic passes that remove records over `maxCount` or `maxBytes` go this far below the limit, so
 * that a history kept at its limit is scanned once per tenth of the limit rather than on every pass.
 */
const AUTOMATIC_TRIM = 0.9;

/** What tells whether a retention pass would remove anything, kept up to date as records are written. */
interface RetentionTally {
  count: number;
  bytes: number;
  /** The earliest start among the records of each priority. */
  oldestByPriority: Map<number, number>;
}

/**
 * The persisted record of every hook execution, indexed by the commit batches of its events and by
 * correlation. A write made outside any correlation context has its own event id as correlation id;
 * its executions are found through its batch, so bare writes cost no correlation entries.
 */
export class HookHistory {
  readonly #storage: StorageBackend;
  /** Retention and the copying of inputs out of the event log run one at a time, never interleaved. */
  readonly #maintenance = new Serial();
  /** Undefined until a retention pass has counted what is stored. */
  #tally: RetentionTally | undefined;
  /** What is recorded while a retention pass reads the records, which its reading may not see. */
  #recordedDuringPass: RetentionTally | undefined;

  constructor(storage: StorageBackend) {
    this.#storage = storage;
  }

  /**
   * The operations that record one execution: the record and its index entries. A null `inputJson`
   * means the input is exactly the events of `meta.eventIds`, read back from the event log.
   */
  recordOps(meta: Omit<ExecutionMeta, 'bytes'>, inputJson: string | null, resultJson: string | undefined): BatchOp[] {
    const key = Buffer.from(meta.executionId, 'utf8');
    const value = encodeExecution(meta, inputJson, resultJson);
    // Counted before the batch commits: a batch that fails only makes the next pass look sooner.
    if (this.#tally !== undefined) addToTally(this.#tally, meta, value.length);
    if (this.#recordedDuringPass !== undefined) addToTally(this.#recordedDuringPass, meta, value.length);
    const ops: BatchOp[] = [{ type: 'put', sublevel: 'hookHistory', key, value }];
    for (const indexKey of indexKeys(meta)) ops.push({ type: 'put', sublevel: 'hookHistoryByCorrelation', key: indexKey, value: Buffer.alloc(0) });
    return ops;
  }

  /** One execution, or undefined. @throws {DATA_CORRUPT} */
  async get(executionId: string): Promise<HookExecution | undefined> {
    const record = await this.#storage.get('hookHistory', Buffer.from(executionId, 'utf8'));
    return record === undefined ? undefined : this.#withInput(decodeExecution(record, executionId), new Map());
  }

  /** @throws {DATA_CORRUPT} */
  async query(filter: HistoryFilter = {}): Promise<HookExecution[]> {
    const limit = filter.limit ?? DEFAULT_LIMIT;
    const found: HookExecution[] = [];
    const logRecords = new Map<number, Promise<LoggedEvent[] | undefined>>();
    for await (const [id, record] of this.#matching(filter)) {
      const execution = await this.#withInput(decodeExecution(record, id), logRecords);
      if (execution !== undefined) found.push(execution);
      if (found.length >= limit) break;
    }
    return found;
  }

  /**
   * What {@link query} selects, without inputs and results: only the metadata of each record is read,
   * so nothing is inflated and nothing is read from the event log.
   *
   * @throws {DATA_CORRUPT}
   */
  async queryMetadata(filter: HistoryFilter = {}): Promise<HookExecutionMetadata[]> {
    const limit = filter.limit ?? DEFAULT_LIMIT;
    const found: HookExecutionMetadata[] = [];
    for await (const [, , { bytes: _bytes, ...meta }] of this.#matching(filter)) {
      found.push(meta);
      if (found.length >= limit) break;
    }
    return found;
  }

  /** The records the filter selects, in its order, with their metadata. */
  async *#matching(filter: HistoryFilter): AsyncGenerator<[string, Buffer, ExecutionMeta]> {
    const matches = metaMatcher(filter);
    for await (const [id, record] of this.#candidates(filter)) {
      const meta = decodeExecutionMeta(record, id);
      if (matches(meta)) yield [id, record, meta];
    }
  }

  /**
   * Writes into their records the inputs that are read from the given commit records, before the
   * event log's retention removes those: history never loses an input to the log's retention.
   * Returns how many records were rewritten.
   */
  keepInputsOf(seqs: readonly number[]): Promise<number> {
    return this.#maintenance.run(async () => {
      const logRecords = new Map<number, Promise<LoggedEvent[] | undefined>>();
      let ops: BatchOp[] = [];
      // An execution with events from several of these records is found once per record.
      const rewritten = new Set<string>();
      for (const seq of seqs) {
        const prefix = seqPrefix(seq);
        for await (const [key] of this.#storage.iterate('hookHistoryByCorrelation', { gt: prefix, lt: upperBound(prefix) })) {
          const executionId = key.toString('utf8', prefix.length);
          if (rewritten.has(executionId)) continue;
          const record = await this.#storage.get('hookHistory', Buffer.from(executionId, 'utf8'));
          if (record === undefined) continue;
          let stored: StoredExecution;
          let input: LoggedEvent[] | string;
          try {
            stored = decodeExecution(record, executionId);
            if (!stored.inputInLog) continue;
            input = await this.#readInput(stored.execution, logRecords);
          } catch {
            // A damaged record, or one whose events are gone already, is kept as it is for inspection:
            // it must not stop the log's retention.
            continue;
          }
          if (typeof input === 'string') continue;
          const value = withInputStored(stored.execution, JSON.stringify(input));
          ops.push({ type: 'put', sublevel: 'hookHistory', key: Buffer.from(executionId, 'utf8'), value });
          if (this.#tally !== undefined) this.#tally.bytes += value.length - record.length;
          rewritten.add(executionId);
          if (ops.length >= 1024) {
            await this.#storage.batch(ops);
            ops = [];
          }
        }
      }
      if (ops.length > 0) await this.#storage.batch(ops);
      return rewritten.size;
    });
  }

  /**
   * The execution with its input, reading it from the event log if it was left there; undefined when
   * the record was removed meanwhile.
   */
  async #withInput(stored: StoredExecution, logRecords: Map<number, Promise<LoggedEvent[] | undefined>>): Promise<HookExecution | undefined> {
    if (!stored.inputInLog) return stored.execution;
    const { execution } = stored;
    const input = await this.#readInput(execution, logRecords);
    if (typeof input !== 'string') return { ...execution, input };
    // The log's retention may have copied the input into the record and removed the events since the
    // record was read (it commits the copy first): read the record again before calling it corrupt.
    const again = await this.#storage.get('hookHistory', Buffer.from(execution.executionId, 'utf8'));
    if (again === undefined) return undefined;
    const current = decodeExecution(again, execution.executionId);
    if (!current.inputInLog) return current.execution;
    const reason = `its input is event ${input} of the event log, and the log no longer has it`;
    throw new LlmStateError('DATA_CORRUPT', `The record of hook execution ${execution.executionId} cannot be read: ${reason}`, {
      details: { executionId: execution.executionId, eventId: input, reason },
    });
  }

  /** The events an execution's `eventIds` name, from the log; or the id of the first one it lacks. */
  async #readInput(execution: Omit<HookExecution, 'input'>, logRecords: Map<number, Promise<LoggedEvent[] | undefined>>): Promise<LoggedEvent[] | string> {
    const input: LoggedEvent[] = [];
    for (const eventId of execution.eventIds) {
      const dot = eventId.indexOf('.');
      const seq = Number(eventId.slice(0, dot));
      let events = logRecords.get(seq);
      if (events === undefined) {
        events = this.#storage.get('events', encodeSeqKey(seq)).then((record) => (record === undefined ? undefined : decodeCommitRecord(record, seq)));
        logRecords.set(seq, events);
      }
      const event = (await events)?.[Number(eventId.slice(dot + 1))];
      if (event === undefined) return eventId;
      input.push(event);
    }
    return input;
  }

  async *#candidates(filter: HistoryFilter): AsyncGenerator<[string, Buffer]> {
    // An event narrows more than a correlation; the matcher checks the correlation as well.
    const narrowedBy = filter.eventId ?? filter.correlationId;
    if (narrowedBy === undefined) {
      const range = timeRange(filter);
      for await (const [key, record] of this.#storage.iterate('hookHistory', { ...range, reverse: filter.newestFirst === true })) {
        yield [key.toString('utf8'), record];
      }
      return;
    }
    const ids = await this.#indexedIds(narrowedBy, filter.eventId === undefined);
    if (filter.newestFirst === true) ids.reverse();
    for (const id of ids) {
      const record = await this.#storage.get('hookHistory', Buffer.from(id, 'utf8'));
      if (record !== undefined) yield [id, record];
    }
  }

  /** Execution ids on a correlation (or an event's batch), oldest first. */
  async #indexedIds(id: string, byCorrelation: boolean): Promise<string[]> {
    const prefixes: Buffer[] = [];
    const bare = EVENT_ID.exec(id);
    if (bare !== null) prefixes.push(seqPrefix(Number(bare[1])));
    if (byCorrelation) prefixes.push(Buffer.concat([Buffer.from(id, 'utf8'), NUL]));
    const ids = new Set<string>();
    for (const prefix of prefixes) {
      for await (const [key] of this.#storage.iterate('hookHistoryByCorrelation', { gt: prefix, lt: upperBound(prefix) })) {
        ids.add(key.toString('utf8', prefix.length));
      }
    }
    return [...ids].sort();
  }

  /**
   * Applies the retention policy and returns what it removed. A record of a hook with priority p > 0
   * is kept for `maxAgeMs × (1 + p)`; over the count or byte limit, the lowest-priority records go
   * first, oldest first within a priority.
   */
  prune(policy: Required<HistoryRetention>, now: number): Promise<PruneResult> {
    return this.#maintenance.run(() => this.#prune(policy, now, 1));
  }

  /**
   * Applies the retention policy only if it would remove something, which a tally kept as records are
   * written tells without reading them. Over a count or byte limit it trims to 90 % of the limit.
   * Returns undefined when nothing was due.
   */
  pruneIfDue(policy: Required<HistoryRetention>, now: number): Promise<PruneResult | undefined> {
    return this.#maintenance.run(async () => {
      const tally = this.#tally;
      const due =
        tally === undefined ||
        tally.count > policy.maxCount ||
        tally.bytes > policy.maxBytes ||
        [...tally.oldestByPriority].some(([priority, oldest]) => now - oldest > keepFor(policy, priority));
      return due ? this.#prune(policy, now, AUTOMATIC_TRIM) : undefined;
    });
  }

  async #prune(policy: Required<HistoryRetention>, now: number, trim: number): Promise<PruneResult> {
    this.#recordedDuringPass = emptyTally();
    try {
      const { result, kept } = await this.#prunePass(policy, now, trim);
      mergeTally(kept, this.#recordedDuringPass);
      this.#tally = kept;
      return result;
    } catch (error) {
      // Whatever the pass removed before it failed, the next one counts again from the records.
      this.#tally = undefined;
      throw error;
    } finally {
      this.#recordedDuringPass = undefined;
    }
  }

  /** One retention pass; returns its result and the tally of the records it kept. */
  async #prunePass(policy: Required<HistoryRetention>, now: number, trim: number): Promise<{ result: PruneResult; kept: RetentionTally }> {
    const all: ExecutionMeta[] = [];
    for await (const [key, record] of this.#storage.iterate('hookHistory')) {
      try {
        all.push(decodeExecutionMeta(record, key.toString('utf8')));
      } catch {
        // A damaged record is kept for inspection; it counts towards nothing.
      }
    }
    const doomed = new Set<ExecutionMeta>();
    for (const meta of all) {
      if (now - meta.startedAt > keepFor(policy, meta.priority)) doomed.add(meta);
    }
    const byEviction = all.filter((meta) => !doomed.has(meta)).sort((a, b) => a.priority - b.priority || (a.executionId < b.executionId ? -1 : 1));
    let count = byEviction.length;
    let bytes = byEviction.reduce((sum, meta) => sum + meta.bytes, 0);
    const over = count > policy.maxCount || bytes > policy.maxBytes;
    const [maxCount, maxBytes] = over ? [Math.floor(policy.maxCount * trim), Math.floor(policy.maxBytes * trim)] : [policy.maxCount, policy.maxBytes];
    for (const meta of byEviction) {
      if (count <= maxCount && bytes <= maxBytes) break;
      doomed.add(meta);
      count--;
      bytes -= meta.bytes;
    }
    const kept = emptyTally();
    for (const meta of byEviction) if (!doomed.has(meta)) addToTally(kept, meta, meta.bytes);
    const ops: BatchOp[] = [];
    let removedBytes = 0;
    for (const meta of doomed) {
      removedBytes += meta.bytes;
      ops.push({ type: 'del', sublevel: 'hookHistory', key: Buffer.from(meta.executionId, 'utf8') });
      for (const key of indexKeys(meta)) ops.push({ type: 'del', sublevel: 'hookHistoryByCorrelation', key });
      if (ops.length >= 4096) await this.#storage.batch(ops.splice(0));
    }
    if (ops.length > 0) await this.#storage.batch(ops);
    return { result: { removed: doomed.size, removedBytes, kept: count, keptBytes: bytes }, kept };
  }
}

/** How long retention keeps a record of a hook with this priority. */
function keepFor(policy: Required<HistoryRetention>, priority: number): number {
  return policy.maxAgeMs * (1 + Math.max(0, priority));
}

function emptyTally(): RetentionTally {
  return { count: 0, bytes: 0, oldestByPriority: new Map() };
}

function mergeTally(into: RetentionTally, from: RetentionTally): void {
  into.count += from.count;
  into.bytes += from.bytes;
  for (const [priority, oldest] of from.oldestByPriority) {
    const current = into.oldestByPriority.get(priority);
    if (current === undefined || oldest < current) into.oldestByPriority.set(priority, oldest);
  }
}

function addToTally(tally: RetentionTally, meta: Pick<ExecutionMeta, 'priority' | 'startedAt'>, bytes: number): void {
  tally.count++;
  tally.bytes += bytes;
  const oldest = tally.oldestByPriority.get(meta.priority);
  if (oldest === undefined || meta.startedAt < oldest) tally.oldestByPriority.set(meta.priority, meta.startedAt);
}

/**
 * One entry per commit batch the execution took events from, so it is found by any of its events; and
 * one per correlation, except a write's own correlation (its event id), already found through its batch.
 */
function indexKeys(meta: Pick<ExecutionMeta, 'executionId' | 'correlationIds' | 'eventIds'>): Buffer[] {
  const id = Buffer.from(meta.executionId, 'utf8');
  const keys: Buffer[] = [];
  const seqs = new Set(meta.eventIds.map((eventId) => Number(eventId.slice(0, eventId.indexOf('.')))));
  for (const seq of seqs) keys.push(Buffer.concat([seqPrefix(seq), id]));
  const eventIds = new Set(meta.eventIds);
  for (const correlationId of meta.correlationIds) {
    if (!eventIds.has(correlationId)) keys.push(Buffer.concat([Buffer.from(correlationId, 'utf8'), NUL, id]));
  }
  return keys;
}

/** Correlation ids have no control characters, so a leading 0x00 cannot collide with one. */
function seqPrefix(seq: number): Buffer {
  return Buffer.concat([NUL, encodeSeqKey(seq), NUL]);
}

function upperBound(prefix: Buffer): Buffer {
  const bound = Buffer.from(prefix);
  bound[bound.length - 1] = 1;
  return bound;
}

function timeRange(filter: HistoryFilter): { gte?: Buffer; lte?: Buffer } {
  const range: { gte?: Buffer; lte?: Buffer } = {};
  if (filter.from !== undefined) range.gte = Buffer.from(Number(filter.from).toString(36).padStart(9, '0'), 'utf8');
  if (filter.to !== undefined) range.lte = Buffer.from(`${Number(filter.to).toString(36).padStart(9, '0')}\xff`, 'latin1');
  return range;
}

function metaMatcher(filter: HistoryFilter): (meta: ExecutionMeta) => boolean {
  const statuses = filter.status === undefined ? undefined : Array.isArray(filter.status) ? filter.status : [filter.status];
  const from = filter.from === undefined ? -Infinity : Number(filter.from);
  const to = filter.to === undefined ? Infinity : Number(filter.to);
  const replays = filter.replays ?? 'include';
  return (meta) =>
    (filter.hookName === undefined || meta.hookName === filter.hookName) &&
    (filter.correlationId === undefined || meta.correlationIds.includes(filter.correlationId)) &&
    (filter.eventId === undefined || meta.eventIds.includes(filter.eventId)) &&
    (statuses === undefined || statuses.includes(meta.status)) &&
    (replays === 'include' || (replays === 'only') === (meta.replayOf !== undefined)) &&
    executionIdTime(meta.executionId) >= from &&
    meta.startedAt <= to;
}
