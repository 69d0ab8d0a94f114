import type pg from 'pg';
import { table } from './postgresSql.js';
import type { LeaseAttempt, LeaseHold, LeaseRecord } from './StorageBackend.js';

/**
 * Scope leases in the `leases` table, timed by the server's clock only: the clocks of the processes that
 * share the database never have to agree. A released lease keeps its row and epoch, with an expiry in the
 * past: deleting it would start the next owner at epoch 1 again, and an old incarnation of an owner of the
 * same name, still holding epoch 1, would pass the fence.
 */

const EXPIRES_MS = `(extract(epoch FROM expires_at) * 1000)::float8::text AS expires_ms`;
const TTL = (parameter: string) => `${parameter}::float8 * interval '1 millisecond'`;

interface LeaseRow {
  owner: string;
  epoch: string;
  expires_ms: string;
}

/**
 * Takes the lease when it is free, expired or `owner`'s own, under the next epoch: a process restarted
 * under the same owner name fences its former incarnation too. Otherwise reads who holds it.
 *
 * It locks the commit_sequence row first, as every sequenced commit does until its COMMIT: so a lease
 * changes hands only between commits, and a commit, which reads its leases after taking that row, sees
 * every change of owner or epoch that committed before it, and none can commit before it does. (This
 * fences a commit without locking its lease rows, which cost a WAL record per lease per commit.)
 */
export async function acquireLease(pool: pg.Pool, schema: string, resource: string, owner: string, ttlMs: number): Promise<LeaseAttempt> {
  const leases = table(schema, 'leases');
  for (;;) {
    const taken = await pool.query<LeaseRow>(
      `WITH turn AS (SELECT 1 FROM ${table(schema, 'commit_sequence')} FOR NO KEY UPDATE) ` +
        `INSERT INTO ${leases} AS leases (resource, owner, epoch, expires_at) SELECT $1, $2, 1, now() + ${TTL('$3')} FROM turn ` +
        'ON CONFLICT (resource) DO UPDATE SET owner = excluded.owner, epoch = leases.epoch + 1, expires_at = excluded.expires_at ' +
        `WHERE leases.owner = excluded.owner OR leases.expires_at < now() RETURNING owner, epoch::text AS epoch, ${EXPIRES_MS}`,
      [resource, owner, ttlMs],
    );
    if (taken.rows.length > 0) {
      const [row] = taken.rows;
      return { acquired: true, hold: { resource, owner, epoch: Number(row.epoch) }, expiresAt: Number(row.expires_ms) };
    }
    const holder = await pool.query<LeaseRow>(`SELECT owner, epoch::text AS epoch, ${EXPIRES_MS} FROM ${leases} WHERE resource = $1`, [resource]);
    // The row is never deleted by llmstate; if someone did, the lease is free: take it.
    if (holder.rows.length === 0) continue;
    const [row] = holder.rows;
    return { acquired: false, owner: row.owner, epoch: Number(row.epoch), expiresAt: Number(row.expires_ms) };
  }
}

/**
 * The rows of `holds` that still match, locked in resource order, as every statement on leases locks
 * them, so that renewals, releases and fenced commits of overlapping leases never deadlock.
 */
function matchingHolds(schema: string): string {
  return (
    'held AS (SELECT l.resource FROM ' +
    `${table(schema, 'leases')} AS l JOIN unnest($1::text[], $2::text[], $3::bigint[]) AS h(resource, owner, epoch) ` +
    'ON l.resource = h.resource AND l.owner = h.owner AND l.epoch = h.epoch ORDER BY l.resource FOR UPDATE OF l)'
  );
}

function holdArrays(holds: readonly LeaseHold[]): [string[], string[], string[]] {
  return [holds.map((h) => h.resource), holds.map((h) => h.owner), holds.map((h) => String(h.epoch))];
}

/** Extends the leases whose owner and epoch still match to `ttlMs` from now; returns the others. */
export async function renewLeases(pool: pg.Pool, schema: string, holds: readonly LeaseHold[], ttlMs: number): Promise<LeaseHold[]> {
  const renewed = await pool.query<{ resource: string; owner: string; epoch: string }>(
    `WITH ${matchingHolds(schema)} UPDATE ${table(schema, 'leases')} AS l SET expires_at = now() + ${TTL('$4')} ` +
      'FROM held WHERE l.resource = held.resource RETURNING l.resource, l.owner, l.epoch::text AS epoch',
    [...holdArrays(holds), ttlMs],
  );
  const kept = new Set(renewed.rows.map((row) => `${row.resource}\0${row.owner}\0${row.epoch}`));
  return holds.filter((hold) => !kept.has(`${hold.resource}\0${hold.owner}\0${hold.epoch}`));
}

/** Ends the leases whose owner and epoch still match, so that any process may take them at once. */
export async function releaseLeases(pool: pg.Pool, schema: string, holds: readonly LeaseHold[]): Promise<void> {
  await pool.query(
    `WITH ${matchingHolds(schema)} UPDATE ${table(schema, 'leases')} AS l SET expires_at = '-infinity' FROM held WHERE l.resource = held.resource`,
    holdArrays(holds),
  );
}

/** The leases whose resource starts with `prefix`, by resource, and the server's time they were read at. */
export async function listLeases(pool: pg.Pool, schema: string, prefix: string): Promise<{ leases: LeaseRecord[]; readAt: number }> {
  // Joined to the time of the read, so that it comes back when no lease matches.
  const found = await pool.query<{ read_ms: string; resource: string | null; owner: string; epoch: string; expires_ms: string }>(
    'SELECT (extract(epoch FROM n.t) * 1000)::float8::text AS read_ms, l.resource, l.owner, l.epoch::text AS epoch, ' +
      '(extract(epoch FROM l.expires_at) * 1000)::float8::text AS expires_ms ' +
      `FROM (SELECT now() AS t) AS n LEFT JOIN ${table(schema, 'leases')} AS l ON starts_with(l.resource, $1) ORDER BY l.resource`,
    [prefix],
  );
  const leases: LeaseRecord[] = [];
  for (const row of found.rows) {
    if (row.resource !== null) leases.push({ resource: row.resource, owner: row.owner, epoch: Number(row.epoch), expiresAt: Number(row.expires_ms) });
  }
  return { leases, readAt: Number(found.rows[0]!.read_ms) };
}
