import type pg from 'pg';
import { LlmStateError } from '../errors.js';
import { HeldConnection } from './postgresConnections.js';
import { abortedError, resolveOutcome, transactionStatus, unknownOutcomeError } from './postgresOutcome.js';
import { beginBatch, beginSequencedCommit, writeAndCommit } from './postgresSql.js';
import type { BatchOp, CommitOptions, LeaseHold, SequencedCommit } from './StorageBackend.js';

/** What a commit needs to know of its store. */
export interface CommitContext {
  readonly schema: string;
  readonly location: string;
  /** How to reach the server on a fresh connection, to learn the outcome of a commit whose connection was lost. */
  readonly outcomeConfig: pg.ClientConfig;
  readonly outcomeDeadlineMs: number;
  /** The store's id in the announcements of its commits, by which it knows its own. */
  readonly announcedAs: string;
}

/**
 * One write transaction, in two round trips: BEGIN with the transaction's id (and, for a sequenced commit,
 * the lease check and the next sequence), then the writes and COMMIT in one string. The id is what tells,
 * should the connection be lost in the second round trip, whether the commit happened.
 */
export class PostgresCommit implements SequencedCommit {
  readonly seq: number;
  readonly #held: HeldConnection;
  readonly #xid: string;
  readonly #context: CommitContext;
  readonly #sync: boolean;

  private constructor(held: HeldConnection, xid: string, seq: number, context: CommitContext, sync: boolean) {
    this.#held = held;
    this.#xid = xid;
    this.seq = seq;
    this.#context = context;
    this.#sync = sync;
  }

  /**
   * Begins a transaction on a write connection: a sequenced commit after `previous` when it is given, a plain
   * batch otherwise.
   *
   * @throws {LEASE_LOST} when a lease of `options.fence` is held by another owner or epoch; nothing is written.
   */
  static async begin(pool: pg.Pool, context: CommitContext, previous: number | undefined, options: CommitOptions): Promise<PostgresCommit> {
    const fence = options.fence ?? [];
    const begin = previous === undefined ? beginBatch(context.schema, fence) : beginSequencedCommit(context.schema, previous, fence);
    const held = await HeldConnection.take(pool);
    let results: pg.QueryResult[];
    try {
      results = await held.query(begin);
    } catch (err) {
      // Nothing is committed without the COMMIT of the second round trip.
      held.release(err);
      throw err;
    }
    // A plain batch's string is BEGIN, its fence, its id; a sequenced commit's is BEGIN, its sequence, its fence.
    const [found, begun] = previous === undefined ? [results[1], results.at(-1)!] : [results[2], results[1]];
    const stale = fence.length === 0 ? undefined : staleHold(fence, found.rows);
    if (stale !== undefined) {
      await held.finish('ROLLBACK').catch(() => {
        // A connection that fails here takes the transaction with it: nothing was written either way.
      });
      throw leaseLost(stale.hold, stale.current, context.location);
    }
    const row = begun.rows[0] as { xid: string; seq?: string };
    return new PostgresCommit(held, row.xid, row.seq === undefined ? 0 : Number(row.seq), context, options.sync === true);
  }

  async write(ops: readonly BatchOp[]): Promise<void> {
    let statements: string;
    try {
      statements = writeAndCommit(this.#context.schema, ops, this.#sync, this.#context.announcedAs);
    } catch (err) {
      await this.abandon();
      throw err;
    }
    await this.commit(statements, ops.length);
  }

  /** Sends `statements`, the writes and COMMIT that {@link writeAndCommit} made of `count` operations. */
  async commit(statements: string, count: number): Promise<void> {
    try {
      await this.#held.query(statements);
    } catch (err) {
      await this.#settleFailure(err, count);
      return;
    }
    this.#held.release();
  }

  async abandon(): Promise<void> {
    await this.#held.finish('ROLLBACK').catch(() => {
      // The connection is gone, and the transaction with it: nothing was written, as asked.
    });
  }

  /**
   * After a failed second round trip: a connection that still answers saw a statement fail, so the
   * transaction is aborted and its COMMIT, later in the string, never ran. A connection that does not
   * answer leaves the outcome to be asked of the server, by the transaction's id.
   */
  async #settleFailure(err: unknown, count: number): Promise<void> {
    const pid = this.#held.pid;
    try {
      await this.#held.finish('ROLLBACK');
    } catch {
      const { outcomeConfig, outcomeDeadlineMs, location } = this.#context;
      const outcome = await resolveOutcome(() => transactionStatus(outcomeConfig, this.#xid, pid), { deadlineMs: outcomeDeadlineMs });
      if (outcome === 'committed') return;
      if (outcome === 'aborted') throw abortedError(location, err);
      throw unknownOutcomeError(location, count, this.#xid, outcomeDeadlineMs, err);
    }
    throw err;
  }
}

interface LeaseRow {
  resource: string;
  owner: string;
  epoch: string;
}

/** The first hold of the fence whose lease has another owner or epoch now, or is gone. */
function staleHold(fence: readonly LeaseHold[], rows: LeaseRow[]): { hold: LeaseHold; current: LeaseRow | undefined } | undefined {
  const current = new Map(rows.map((row) => [row.resource, row]));
  for (const hold of fence) {
    const row = current.get(hold.resource);
    if (row === undefined || row.owner !== hold.owner || Number(row.epoch) !== hold.epoch) return { hold, current: row };
  }
  return undefined;
}

function leaseLost(hold: LeaseHold, current: LeaseRow | undefined, location: string): LlmStateError {
  const now = current === undefined ? 'no one holds it now' : `${current.owner} holds it now, at epoch ${current.epoch}`;
  return new LlmStateError(
    'LEASE_LOST',
    `The lease on ${hold.resource} that ${hold.owner} held at epoch ${hold.epoch} was lost: ${now}. ` +
      `The commit was refused and nothing was written to ${location}. Take the lease again before writing`,
    {
      details: {
        scope: hold.resource,
        owner: current?.owner ?? null,
        epoch: current === undefined ? null : Number(current.epoch),
        heldEpoch: hold.epoch,
      },
    },
  );
}
