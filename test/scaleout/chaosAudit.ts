import { Scope } from '../../src/state/Scope.js';
import { encodeStateKey } from '../../src/state/keyCodec.js';
import { table } from '../../src/storage/postgresSql.js';
import { decodeRecord } from '../../src/storage/recordEnvelope.js';
import { postgresQuery } from '../support/postgres.js';
import type { AuditedWrite } from './chaosCheck.js';

/**
 * Has the database note, inside each commit's own transaction, every state record it writes with the
 * commit's number and who then held each agent scope's lease. A commit's fence keeps the lease from
 * changing hands while it runs (a takeover waits for the commit sequence row it holds), so the holder seen
 * there must be the process the write was sent to: a stale owner's write that got through would show
 * another. Call it once the store's tables exist.
 */
export async function startChaosAudit(schema: string): Promise<void> {
  const audit = table(schema, 'chaos_audit');
  await postgresQuery(`CREATE TABLE ${audit} (seq bigint NOT NULL, key bytea NOT NULL, value bytea NOT NULL, owners jsonb)`);
  await postgresQuery(
    `CREATE FUNCTION ${table(schema, 'chaos_audit_write')}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ` +
      `INSERT INTO ${audit} SELECT (SELECT seq FROM ${table(schema, 'commit_sequence')}), NEW.key, NEW.value, ` +
      `(SELECT jsonb_object_agg(resource, owner) FROM ${table(schema, 'leases')} WHERE resource LIKE 'agent:%'); ` +
      'RETURN NULL; END $$',
  );
  await postgresQuery(
    `CREATE TRIGGER chaos_audit AFTER INSERT OR UPDATE ON ${table(schema, 'records')} FOR EACH ROW ` +
      `WHEN (NEW.sublevel = 'state') EXECUTE FUNCTION ${table(schema, 'chaos_audit_write')}()`,
  );
}

/** What the audit noted, decoded; `keys` are the state keys the run wrote. */
export async function readChaosAudit(schema: string, keys: ReadonlyArray<{ scope: string; key: string }>): Promise<AuditedWrite[]> {
  const byEncoded = new Map(keys.map((one) => [encodeStateKey(Scope.parse(one.scope), one.key).toString('hex'), one]));
  const rows = await postgresQuery<{ seq: string; key: Buffer; value: Buffer; owners: Record<string, string> | null }>(
    `SELECT seq::text AS seq, key, value, owners FROM ${table(schema, 'chaos_audit')} ORDER BY seq`,
  );
  return rows.map((row) => {
    const found = byEncoded.get(row.key.toString('hex'));
    if (found === undefined) throw new Error(`The audit has a state record of a key the run did not write: ${row.key.toString('hex')}`);
    const payload = decodeRecord(row.value, found).payload.toString('utf8');
    return { seq: Number(row.seq), scope: found.scope, key: found.key, value: JSON.parse(payload) as unknown, leaseOwner: row.owners?.[found.scope] };
  });
}
