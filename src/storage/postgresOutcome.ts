import type pg from 'pg';
import { LlmStateError } from '../errors.js';
import { loadPg } from './pgDriver.js';

/** What became of a transaction whose connection was lost during its writes or COMMIT. */
export type CommitOutcome = 'committed' | 'aborted' | 'unknown';

/** What `pg_xact_status` says, or undefined when the server could not be asked. */
export type TransactionStatus = 'committed' | 'aborted' | 'in progress' | null;

export interface OutcomeOptions {
  /** How long to keep asking while the server is unreachable or the transaction still in progress. */
  deadlineMs: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export const OUTCOME_DEADLINE_MS = 10_000;
/**
 * One look that cannot connect, or is not answered, within this gives way to the next, so that a look
 * queued behind a lock (a restore's switch, say) cannot outlast the deadline.
 */
const ASKING = { connectionTimeoutMillis: 2_000, statement_timeout: 2_000 } as const;
const FIRST_RETRY_MS = 25;
const LONGEST_RETRY_MS = 1_000;

/**
 * Asks `check` for the transaction's status until it is committed or aborted, with a growing pause while
 * the server cannot be reached or the transaction is still in progress, up to the deadline.
 */
export async function resolveOutcome(check: () => Promise<TransactionStatus>, options: OutcomeOptions): Promise<CommitOutcome> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const deadline = now() + options.deadlineMs;
  for (let pause = FIRST_RETRY_MS; ; pause = Math.min(pause * 2, LONGEST_RETRY_MS)) {
    let status: TransactionStatus | undefined;
    try {
      status = await check();
    } catch {
      // The server is unreachable for now: the loop is the retry.
    }
    if (status === 'committed' || status === 'aborted') return status;
    // null: the server keeps no status for so old a transaction, and never will.
    if (status === null) return 'unknown';
    const left = deadline - now();
    if (left <= 0) return 'unknown';
    await sleep(Math.min(pause, left));
  }
}

/**
 * One look at the transaction, on a connection of its own: a pooled one may be as dead as the one lost.
 * A transaction still in progress belongs to a server process that has not yet noticed its client is
 * gone; it still holds its locks (commit_sequence's among them), so it is ended here, which settles it.
 * The transaction id guards the process id, which the server may have given to another connection since.
 */
export async function transactionStatus(config: pg.ClientConfig, xid: string, pid: number | undefined): Promise<TransactionStatus> {
  const { Client } = await loadPg();
  const client = new Client({ ...config, ...ASKING });
  client.on('error', () => {
    // A failure surfaces through connect() or query(); this keeps a late one from crashing the process.
  });
  try {
    await client.connect();
    const result = await client.query<{ status: TransactionStatus }>('SELECT pg_xact_status($1::xid8) AS status', [xid]);
    const status = result.rows[0].status;
    if (status === 'in progress' && pid !== undefined) {
      await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = $1 AND backend_xid = $2::xid8::xid', [pid, xid]);
    }
    return status;
  } finally {
    await client.end().catch(() => {
      // The answer, or the failure to get one, is what matters.
    });
  }
}

/** The failure of a commit whose outcome is known to be a rollback. */
export function abortedError(location: string, cause: unknown): Error {
  return new Error(`The connection to ${location} was lost during the commit, and PostgreSQL reports the transaction rolled back`, { cause });
}

/** The failure of a commit that may or may not have been written. */
export function unknownOutcomeError(location: string, count: number, xid: string, deadlineMs: number, cause: unknown): LlmStateError {
  return new LlmStateError(
    'STORAGE_FAILED',
    `Batch of ${count} operations may or may not have been written: the connection to ${location} was lost during the commit, ` +
      `and whether transaction ${xid} committed could not be learnt within ${deadlineMs / 1000} s. ` +
      'Read the data back once the server is reachable before writing it again',
    { cause, details: { outcome: 'unknown', location, xid } },
  );
}
