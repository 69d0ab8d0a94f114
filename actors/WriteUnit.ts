import type { CorrelationContext } from '../src/events/correlation.js';
import type { EventSpec } from '../src/events/eventLog.js';
import type { BatchOp, LeaseHold } from '../src/storage/index.js';

/** One key's new state: JSON text, or null for deleted. */
export interface KeyWrite {
  readonly key: string;
  readonly json: string | null;
  /** `name@version` of the schema the value was validated against, kept in its record's envelope. */
  readonly schema?: string;
}

/**
 * One acknowledged operation as the commit path sees it: a set, a delete, a clear, a whole transaction,
 * or a record of another kind (an agent record, a lifecycle event). A unit's writes commit together or
 * not at all, and its promise settles once, after the batch that holds it.
 */
export interface WriteUnit {
  readonly kind: 'set' | 'delete' | 'clear' | 'transaction' | 'record';
  readonly writes: readonly KeyWrite[];
  /** Operations outside the `state` namespace, such as an agent record. */
  readonly extraOps?: readonly BatchOp[];
  /** Events beyond the state events the writes imply, logged in the same batch. */
  readonly events?: readonly EventSpec[];
  readonly context: CorrelationContext | undefined;
  /** Keys removed by a clear; a clear logs one `scope.clear` event instead of one per key. */
  readonly cleared?: number;
  /**
   * Leases the unit's writes depend on beyond its participant's, on a store that several processes share:
   * a migration's events and marker, by the lease of one migration at a time.
   */
  readonly fence?: readonly LeaseHold[];
  /** What the caller's promise resolves with once the unit is durable. */
  readonly result: unknown;
  resolve(result: unknown): void;
  reject(error: unknown): void;
}

/** The units one actor contributes to one backend batch, in mailbox order. */
export interface CommitGroup {
  readonly units: WriteUnit[];
  /** Rough payload bytes, for the batch byte bound. */
  readonly bytes: number;
  /** The units' own fence (see {@link WriteUnit.fence}): every unit of a group has the same. */
  readonly fence?: readonly LeaseHold[];
}
