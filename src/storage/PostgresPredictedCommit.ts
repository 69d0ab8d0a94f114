import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { settleFailedCommit, type CommitContext } from './PostgresCommit.js';
import { HeldConnection } from './postgresConnections.js';
import { markedCommitStatus } from './postgresOutcome.js';
import { GUARD_FAILED, predictedCommit } from './postgresSql.js';
import { PREDICTION_MISSED, type BatchOp, type CommitOptions, type LeaseHold, type SequencedCommit } from './StorageBackend.js';

/**
 * A sequenced commit in one round trip: it predicts that the store's sequence is still the last one this
 * process saw, and sends the lease check, the move of the sequence, the writes and COMMIT as one string,
 * whose guards stop it before COMMIT when the prediction does not hold (PREDICTION_MISSED: the caller
 * begins again, in two round trips). The commit leaves a random token in its sequence's mark, which is
 * what tells, should the connection be lost, whether it committed.
 */
export class PostgresPredictedCommit implements SequencedCommit {
  readonly seq: number;
  readonly #pool: pg.Pool;
  readonly #context: CommitContext;
  readonly #fence: readonly LeaseHold[];
  readonly #sync: boolean;
  readonly #settled: (seq: number | undefined) => void;

  /** `settled` hears the sequence once the commit is written, or undefined when the prediction missed. */
  constructor(pool: pg.Pool, context: CommitContext, seq: number, options: CommitOptions, settled: (seq: number | undefined) => void) {
    this.#pool = pool;
    this.#context = context;
    this.seq = seq;
    this.#fence = options.fence ?? [];
    this.#sync = options.sync === true;
    this.#settled = settled;
  }

  async write(ops: readonly BatchOp[]): Promise<void | typeof PREDICTION_MISSED> {
    const token = randomBytes(16);
    // Built first, so that a batch with a bad operation costs no round trip.
    const statements = predictedCommit(this.#context.schema, this.seq, token, this.#fence, ops, this.#sync);
    const held = await HeldConnection.take(this.#pool);
    let process;
    try {
      process = await held.serverProcess();
    } catch (err) {
      held.release(err);
      throw err;
    }
    try {
      await held.query(statements);
    } catch (err) {
      if ((err as { code?: unknown }).code === GUARD_FAILED) {
        // The server stopped the string at a guard: the transaction is aborted, and COMMIT never ran.
        await held.finish('ROLLBACK').catch(() => {});
        this.#settled(undefined);
        return PREDICTION_MISSED;
      }
      const { outcomeConfig, schema } = this.#context;
      await settleFailedCommit(held, err, ops.length, this.#context, { seq: this.seq }, () =>
        markedCommitStatus(outcomeConfig, schema, process, this.seq, token),
      );
      this.#settled(this.seq);
      return;
    }
    held.release();
    this.#settled(this.seq);
  }

  abandon(): void {
    // Nothing was sent: the prediction took nothing from the store.
  }
}
