import type { Clock } from '../clock.js';
import { LlmStateError, isLlmStateError } from '../errors.js';
import { Serial } from '../Serial.js';
import type { BatchOp, StorageBackend, StorageSnapshot } from '../storage/index.js';
import { encodeRecord } from '../storage/recordEnvelope.js';
import { auditMatcher, resolveAuditFilter, type AuditFilter, type ResolvedAuditFilter } from './auditFilter.js';
import {
  RECORDS_END,
  RecordIds,
  afterTimeKey,
  isDecisionKey,
  principalIndexKey,
  principalPrefix,
  recordIdOf,
  recordKey,
  recordKeyOfIndex,
  timeKey,
  timeOf,
} from './auditKeys.js';
import { checkAuditEntry, decodeAuditRecord, encodeAuditRecord, toAuditRecord, type AuditEntry, type AuditRecord } from './auditRecord.js';
import { checkAuditRetention, type AuditRetention } from './auditRetention.js';

export type { AuditFilter } from './auditFilter.js';
export type { AuditEntry, AuditOutcome, AuditRecord } from './auditRecord.js';
export type { AuditRetention } from './auditRetention.js';

export interface AuditLogDeps {
  storage: StorageBackend;
  clock: Clock;
  retention: Required<AuditRetention>;
  /** Receives the failures of background retention passes, which belong to no caller. */
  reportError(error: unknown): void;
  /** fsync each batch before its appends resolve, as the runtime's `durability: 'sync'` asks. @default false */
  sync?: boolean;
}

export interface AuditPruneResult {
  removed: number;
  remaining: number;
  bytes: number;
}

interface Pending {
  record: AuditRecord;
  promise: Promise<AuditRecord>;
  resolve(record: AuditRecord): void;
  reject(error: unknown): void;
}

interface Tally {
  /** Records, from both sources; index entries are not records. */
  count: number;
  /** Keys and values of everything in the namespace, index entries included. */
  bytes: number;
}

/** Removals are committed in chunks of this many records, so that a large first pass is not one huge batch. */
const REMOVALS_PER_BATCH = 1000;

/**
 * The index entry's value is an empty record in the usual envelope: `llmstate verify` checks every
 * value of the namespace as a record.
 */
function indexValue(at: number): Buffer {
  return encodeRecord({ seq: 0, timestamp: at }, '');
}

const INDEX_VALUE_BYTES = indexValue(0).length;

/**
 * The persisted log of access decisions, in the `audit` namespace (DESIGN §10).
 *
 * Appends made in one turn of the event loop are written in one batch, and while a batch is being
 * written the next turns' appends wait and go together in the next one. The log is not part of the
 * commit sequence: its batches are its own.
 *
 * Retention (count, age and bytes) runs in the background every `pruneEvery` appends, one pass at a
 * time, and on {@link prune}. It covers the whole namespace, entries of the built-in `audit` hook
 * included, oldest first.
 */
export class AuditLog {
  readonly #storage: StorageBackend;
  readonly #clock: Clock;
  readonly #retention: Required<AuditRetention>;
  readonly #reportError: (error: unknown) => void;
  readonly #sync: boolean;
  readonly #ids = new RecordIds();
  #queued: Pending[] = [];
  /** The allowed decisions of {@link #queued}, by {@link signatureOf}. */
  #repeats = new Map<string, Pending>();
  #draining = false;
  /** Settles after every append made so far has: batches are written in append order. */
  #lastAppend: Promise<unknown> = Promise.resolve();
  /** Batches and the snapshot of a recount never overlap, so the recount knows which appends it saw. */
  readonly #writes = new Serial();
  /** Retention passes, one at a time. */
  readonly #passes = new Serial();
  #backgroundPassQueued = false;
  #appendsSincePass = 0;
  /** Undefined until a pass has counted the namespace. */
  #tally: Tally | undefined;
  /** What was appended after a recount's snapshot was taken, which the recount cannot see. */
  #appendedDuringRecount: Tally | undefined;
  #closed = false;

  constructor(deps: AuditLogDeps) {
    this.#storage = deps.storage;
    this.#clock = deps.clock;
    this.#retention = deps.retention;
    this.#reportError = deps.reportError;
    this.#sync = deps.sync ?? false;
  }

  /**
   * Records one decision. It is buffered, and every entry appended in the same turn of the event loop
   * goes to the store in one batch.
   *
   * @returns the record, once it is durable.
   * @throws {TypeError} for an entry of the wrong shape.
   * @throws {STORAGE_FAILED} when the batch failed; none of its entries was written.
   * @throws {RUNTIME_CLOSED} after {@link close}.
   * @example await audit.append({ principal: 'agent:ada', operation: 'read', outcome: 'denied', rule: 'no-grant', scope: 'agent:bob', code: 'ACCESS_DENIED' })
   */
  append(entry: AuditEntry): Promise<AuditRecord> {
    let record: AuditRecord;
    try {
      this.#assertOpen('record an access decision');
      // Keys and records hold whole ms.
      const at = Math.floor(this.#clock.now());
      // A loop reading through a grant would write one record per read: identical allowed decisions
      // of one batch are one record with a count. Denials are always recorded one by one. An entry the
      // same as one already checked in this batch needs no checking again.
      const signature = signatureOf(entry);
      const same = signature === undefined ? undefined : this.#repeats.get(signature);
      if (same !== undefined) {
        same.record.count = (same.record.count ?? 1) + 1;
        same.record.lastAt = at;
        return same.promise;
      }
      record = toAuditRecord(this.#ids.next(), at, checkAuditEntry(entry));
      const pending = {} as Pending;
      pending.record = record;
      pending.promise = new Promise<AuditRecord>((resolve, reject) => {
        pending.resolve = resolve;
        pending.reject = reject;
      });
      this.#queued.push(pending);
      if (signature !== undefined) this.#repeats.set(signature, pending);
      this.#lastAppend = pending.promise.catch(() => {});
      if (!this.#draining) {
        this.#draining = true;
        setImmediate(() => void this.#drain());
      }
      return pending.promise;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Waits until every append made so far is durable or has failed; a failure rejects only its append. */
  async flush(): Promise<void> {
    await this.#lastAppend;
  }

  /**
   * The decisions the filter selects, after a {@link flush}. `since` and `until` are key ranges, and a
   * `principal` is read through its index; the other fields are matched on the records so selected.
   *
   * @default filter `{ limit: 1000, order: 'newest' }`
   * @throws {TypeError} for an unknown filter field or one of the wrong shape.
   * @throws {DATA_CORRUPT} when a record read fails its checksum or is malformed.
   * @throws {RUNTIME_CLOSED} after {@link close}.
   * @example await audit.query({ principal: 'agent:ada', outcome: 'denied', since: Date.now() - 3_600_000 })
   */
  async query(filter?: AuditFilter): Promise<AuditRecord[]> {
    const resolved = resolveAuditFilter(filter);
    this.#assertOpen('query the audit log');
    await this.flush();
    if (resolved.since !== undefined && resolved.until !== undefined && resolved.since > resolved.until) return [];
    return resolved.principal === undefined ? this.#queryByTime(resolved) : this.#queryByPrincipal(resolved, resolved.principal);
  }

  /**
   * Applies a retention policy now, after a {@link flush}: `policy`'s fields over the configured ones.
   * It counts the whole namespace first, so that its result includes what the audit hook wrote.
   *
   * @throws {TypeError} for a policy field that is not a positive integer.
   * @throws {STORAGE_FAILED} when a removal batch failed; the records it held are still there.
   * @throws {RUNTIME_CLOSED} after {@link close}.
   * @example await audit.prune({ maxAgeMs: 7 * 24 * 3_600_000 })
   */
  async prune(policy?: AuditRetention): Promise<AuditPruneResult> {
    const given = policy === undefined ? {} : checkAuditRetention(policy);
    this.#assertOpen('prune the audit log');
    await this.flush();
    return this.#passes.run(() => this.#pass({ ...this.#retention, ...given }, true));
  }

  /** Writes what is buffered, waits for a running retention pass, and refuses later calls. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
    await this.#passes.run(async () => {});
  }

  #assertOpen(what: string): void {
    if (this.#closed) {
      throw new LlmStateError('RUNTIME_CLOSED', `Cannot ${what}: the audit log of the store at ${this.#storage.location} is closed. Open the runtime again to use it`);
    }
  }

  async #drain(): Promise<void> {
    while (this.#queued.length > 0) {
      const batch = this.#queued;
      this.#queued = [];
      this.#repeats = new Map();
      await this.#writes.run(() => this.#write(batch));
    }
    this.#draining = false;
  }

  async #write(batch: Pending[]): Promise<void> {
    const ops: BatchOp[] = [];
    let bytes = 0;
    for (const { record } of batch) {
      const key = recordKey(record.at, record.id);
      const value = encodeAuditRecord(record);
      const index = principalIndexKey(record.principal, key);
      const marker = indexValue(record.at);
      ops.push({ type: 'put', sublevel: 'audit', key, value }, { type: 'put', sublevel: 'audit', key: index, value: marker });
      bytes += key.length + value.length + index.length + marker.length;
    }
    try {
      await this.#storage.batch(ops, { sync: this.#sync });
    } catch (error) {
      const failure = batchError(batch.length, this.#storage.location, error);
      for (const pending of batch) pending.reject(failure);
      return;
    }
    for (const tally of [this.#tally, this.#appendedDuringRecount]) {
      if (tally === undefined) continue;
      tally.count += batch.length;
      tally.bytes += bytes;
    }
    for (const pending of batch) pending.resolve(pending.record);
    this.#appendsSincePass += batch.length;
    if (this.#appendsSincePass >= this.#retention.pruneEvery) this.#startBackgroundPass();
  }

  #startBackgroundPass(): void {
    if (this.#backgroundPassQueued || this.#closed) return;
    this.#backgroundPassQueued = true;
    this.#appendsSincePass = 0;
    this.#passes
      .run(() => this.#pass(this.#retention, false))
      .catch((error: unknown) => this.#reportError(error))
      .finally(() => {
        this.#backgroundPassQueued = false;
        // Appends that crossed `pruneEvery` while this pass ran found it running and started none.
        if (this.#appendsSincePass >= this.#retention.pruneEvery) this.#startBackgroundPass();
      });
  }

  /**
   * Removes records oldest first while one is past `maxAgeMs`, or the namespace is over `maxCount` or
   * `maxBytes`. It reads only what it removes, plus one record, by the running tally; it counts the
   * whole namespace only when it has no tally (the first pass, or after a pass failed) or `recount`
   * asks, since entries the audit hook writes reach the store without passing here.
   */
  async #pass(policy: Required<AuditRetention>, recount: boolean): Promise<AuditPruneResult> {
    try {
      if (recount || this.#tally === undefined) await this.#recount();
      const tally = this.#tally as Tally;
      const cutoff = this.#clock.now() - policy.maxAgeMs;
      let removed = 0;
      let ops: BatchOp[] = [];
      let chunk = { count: 0, bytes: 0 };
      const commit = async () => {
        await this.#storage.batch(ops);
        tally.count -= chunk.count;
        tally.bytes -= chunk.bytes;
        removed += chunk.count;
        ops = [];
        chunk = { count: 0, bytes: 0 };
      };
      for await (const [key, value] of this.#storage.iterate('audit', { lt: RECORDS_END })) {
        const overLimit = tally.count - chunk.count > policy.maxCount || tally.bytes - chunk.bytes > policy.maxBytes;
        if (!overLimit && timeOf(key) >= cutoff) break;
        ops.push({ type: 'del', sublevel: 'audit', key });
        chunk.count++;
        chunk.bytes += key.length + value.length;
        const index = indexKeyOf(key, value);
        if (index !== undefined) {
          ops.push({ type: 'del', sublevel: 'audit', key: index });
          chunk.bytes += index.length + INDEX_VALUE_BYTES;
        }
        if (chunk.count >= REMOVALS_PER_BATCH) await commit();
      }
      if (chunk.count > 0) await commit();
      return { removed, remaining: tally.count, bytes: tally.bytes };
    } catch (error) {
      // Whatever the pass removed before it failed, the next one counts again from the store.
      this.#tally = undefined;
      throw error;
    }
  }

  /**
   * Counts the whole namespace from a snapshot taken between two batches of appends, adds what was
   * appended since, and makes that the tally in the same step, so that no append is missed.
   */
  async #recount(): Promise<void> {
    const appended: Tally = { count: 0, bytes: 0 };
    const snapshot = await this.#writes.run(async (): Promise<StorageSnapshot> => {
      this.#appendedDuringRecount = appended;
      return this.#storage.snapshot();
    });
    try {
      const tally: Tally = { count: 0, bytes: 0 };
      for await (const [key, value] of this.#storage.iterate('audit', { snapshot })) {
        if (key[0] === 0) tally.count++;
        tally.bytes += key.length + value.length;
      }
      tally.count += appended.count;
      tally.bytes += appended.bytes;
      this.#tally = tally;
    } finally {
      this.#appendedDuringRecount = undefined;
      await snapshot.close();
    }
  }

  /** Decisions in time order; entries of the audit hook are skipped by their keys, unread. */
  async #queryByTime(filter: ResolvedAuditFilter): Promise<AuditRecord[]> {
    const matches = auditMatcher(filter);
    const found: AuditRecord[] = [];
    const range = {
      gte: timeKey(filter.since ?? 0),
      lt: filter.until === undefined ? RECORDS_END : afterTimeKey(filter.until),
      reverse: filter.order === 'newest',
    };
    for await (const [key, value] of this.#storage.iterate('audit', range)) {
      if (!isDecisionKey(key)) continue;
      const record = decodeAuditRecord(value, recordIdOf(key));
      if (matches(record)) found.push(record);
      if (found.length >= filter.limit) break;
    }
    return found;
  }

  /**
   * One principal's decisions, through the index, read from one snapshot. An index entry whose record
   * is gone is skipped: retention could not read the principal of a damaged record, and so leaves its
   * index entry behind.
   */
  async #queryByPrincipal(filter: ResolvedAuditFilter, principal: string): Promise<AuditRecord[]> {
    const matches = auditMatcher(filter);
    const found: AuditRecord[] = [];
    const prefix = principalPrefix(principal);
    const range = {
      gte: Buffer.concat([prefix, timeKey(filter.since ?? 0)]),
      lt: Buffer.concat([prefix, filter.until === undefined ? RECORDS_END : afterTimeKey(filter.until)]),
      reverse: filter.order === 'newest',
    };
    const snapshot = this.#storage.snapshot();
    try {
      for await (const [indexKey] of this.#storage.iterate('audit', { ...range, snapshot })) {
        const key = recordKeyOfIndex(indexKey);
        const value = await this.#storage.get('audit', key, { snapshot });
        if (value === undefined) continue;
        const record = decodeAuditRecord(value, recordIdOf(key));
        if (matches(record)) found.push(record);
        if (found.length >= filter.limit) break;
      }
    } finally {
      await snapshot.close();
    }
    return found;
  }
}

/** The index key of a decision's record; undefined for an audit hook entry or a damaged record. */
function indexKeyOf(key: Buffer, value: Buffer): Buffer | undefined {
  if (!isDecisionKey(key)) return undefined;
  try {
    return principalIndexKey(decodeAuditRecord(value, recordIdOf(key)).principal, key);
  } catch {
    return undefined;
  }
}

function batchError(count: number, location: string, cause: unknown): LlmStateError {
  if (isLlmStateError(cause, 'DATA_CORRUPT')) return cause;
  const reason = cause instanceof Error ? `: ${cause.message}` : '';
  return new LlmStateError(
    'STORAGE_FAILED',
    `Recording ${count} access decision${count === 1 ? '' : 's'} in the audit log of the store at ${location} failed${reason}. None of them was written; retry once the store takes writes again`,
    { cause, details: { records: count } },
  );
}

/**
 * What makes two allowed decisions the same record; undefined for a denial, or an entry whose fields
 * are not all strings (it is checked, and refused, as it is).
 */
function signatureOf(entry: AuditEntry): string | undefined {
  if (entry?.outcome !== 'allowed' || entry.code !== undefined) return undefined;
  const fields = [entry.principal, entry.operation, entry.rule, entry.scope, entry.key, entry.grantId, entry.method, entry.correlationId];
  for (const field of fields) if (field !== undefined && typeof field !== 'string') return undefined;
  return fields.join('\u0000');
}
