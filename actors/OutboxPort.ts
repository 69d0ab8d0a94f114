import type { BatchOp } from '../src/storage/index.js';

/**
 * What the commit path needs from the hook outbox. The hooks layer implements it; the commit path only
 * asks which hooks an event goes to, and adds the outbox operations to the same batch as the change
 * (invariant 3), so a change and its pending hook deliveries commit together or not at all.
 */
export interface OutboxPort {
  /** False while no hook is registered: the write path then skips routing entirely. */
  readonly active: boolean;
  /** The hooks (as slot numbers) an event goes to, or undefined for none. */
  route(kind: string, scopeKind: string | undefined, key: string | undefined): readonly number[] | undefined;
  /**
   * The operations that record one batch's deliveries: for each hook slot, the indexes of its events
   * in `events` (which `eventsJson` holds as one JSON array, as the commit record does), and each
   * event's correlation id. Reserves room in each hook's outbox until the batch settles.
   */
  stage(batch: StagedBatch, matches: Map<number, number[]>): StagedOutbox;
}

/** One commit batch's events, as the commit path built them. */
export interface StagedBatch {
  seq: number;
  timestamp: number;
  /** Each event as its commit record stores it. */
  events: readonly string[];
  /** All of `events` as one JSON array: the commit record's own text. */
  eventsJson: string;
  /** Each event's correlation id. */
  correlations: readonly string[];
}

export interface StagedOutbox {
  readonly ops: BatchOp[];
  /** The batch is durable: hand its deliveries to the dispatcher. */
  committed(): void;
  /** The batch failed: release the room it reserved. */
  aborted(): void;
}

/** The outbox of a runtime with no hooks layer. */
export const NO_OUTBOX: OutboxPort = {
  active: false,
  route: () => undefined,
  stage: () => ({ ops: [], committed() {}, aborted() {} }),
};
