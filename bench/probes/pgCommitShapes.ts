/**
 * Probe: what one sequenced commit costs on PostgreSQL, by the shape of its statements. Each shape writes
 * P1's two rows (a 118 B state record and a 204 B event-log record) on one connection, awaited in turn,
 * after a warm-up; the fenced shapes check `leases` of the scopes (1, as in P1, or 64, as a P2 commit).
 *
 *   node --import tsx bench/probes/pgCommitShapes.ts URL [1|64]
 *
 * Shapes: the backend's two round trips (src/storage/postgresSql.ts), also without its lease read and with
 * the lease read as one array of hex strings; the same work as one string
 * (BEGIN, a lease guard, the sequence moved from N-1 to N with a mark, the writes, COMMIT), with and
 * without its lease guard; the writes alone in one string; a PL/pgSQL function doing the same work,
 * called as one prepared statement with array parameters, with and without the lease check; and raw
 * `pg`'s prepared two-row upsert. Then (first, and alone with SHAPES=few beside the backend's and raw's):
 * the backend's first round trip as one call of a function that takes the sequence and checks the leases
 * (`resource = f.resource`, an index lookup each), the writes and COMMIT after it; and one prepared call of
 * a function that moves the sequence, reads the leases by `resource = ANY (…)`, marks and writes, and of
 * one that only moves the sequence and writes: the least a sequenced commit can be. See
 * docs/performance.md, "A commit in one round trip" and "The least a sequenced commit costs".
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { storage, postgresSql } from '../subject.js';
import { freshSchema, dropSchema } from '../postgresServer.js';
import type { BatchOp, LeaseHold } from '../../src/storage/index.js';

const url = process.argv[2];
if (url === undefined) throw new Error('Usage: pgCommitShapes.ts URL [leases per commit]');
const leasesPerCommit = Number(process.argv[3] ?? 1);
const { table, textLiteral, integerLiteral, byteaLiteral, writeStatements, beginSequencedCommit, writeAndCommit } = postgresSql;

const schema = freshSchema('shapes');
const backend = storage.createPostgresBackend({ connectionString: url, schema });
await backend.open();
const holds: LeaseHold[] = [];
for (let i = 0; i < 1000; i++) {
  const attempt = await backend.acquireLease(`agent:a${i}`, 'probe', 3_600_000);
  if (attempt.acquired) holds.push(attempt.hold);
}
await backend.close();
const fence = holds.slice(0, leasesPerCommit);

const client = new pg.Client({ connectionString: url });
await client.connect();
const t = (name: string) => table(schema, name);
await client.query(`CREATE TABLE ${t('commit_marks')} (slot int PRIMARY KEY, seq bigint NOT NULL, token bytea NOT NULL)`);
await client.query(`CREATE FUNCTION ${t('commit_at')}(p_seq bigint, p_token bytea, f_resource text[], f_owner text[], f_epoch bigint[],
    put_sublevel text[], put_key bytea[], put_value bytea[]) RETURNS int LANGUAGE plpgsql AS $f$
  DECLARE held int;
  BEGIN
    IF cardinality(f_resource) > 0 THEN
      SELECT count(*) INTO held FROM (SELECT 1 FROM ${t('leases')} l JOIN unnest(f_resource, f_owner, f_epoch) AS f(resource, owner, epoch)
        ON l.resource = f.resource COLLATE "C" AND l.owner = f.owner AND l.epoch = f.epoch ORDER BY l.resource FOR SHARE OF l) x;
      IF held <> cardinality(f_resource) THEN RAISE EXCEPTION 'lease' USING ERRCODE = 'P0001'; END IF;
    END IF;
    UPDATE ${t('commit_sequence')} SET seq = p_seq WHERE seq = p_seq - 1;
    IF NOT FOUND THEN RAISE EXCEPTION 'sequence' USING ERRCODE = 'P0001'; END IF;
    INSERT INTO ${t('commit_marks')} VALUES (p_seq % 65536, p_seq, p_token) ON CONFLICT (slot) DO UPDATE SET seq = excluded.seq, token = excluded.token;
    INSERT INTO ${t('records')} (sublevel, key, value) SELECT * FROM unnest(put_sublevel, put_key, put_value)
      ON CONFLICT (sublevel, key) DO UPDATE SET value = excluded.value;
    RETURN 1;
  END $f$`);

await client.query(`CREATE FUNCTION ${t('commit_any')}(p_seq bigint, p_token bytea, f_resource text[], f_owner text[], f_epoch bigint[],
    put_sublevel text[], put_key bytea[], put_value bytea[]) RETURNS int LANGUAGE plpgsql AS $f$
  DECLARE held int;
  BEGIN
    UPDATE ${t('commit_sequence')} SET seq = p_seq WHERE seq = p_seq - 1;
    IF NOT FOUND THEN RAISE EXCEPTION 'sequence' USING ERRCODE = 'P0001'; END IF;
    IF cardinality(f_resource) > 0 THEN
      SELECT count(*) INTO held FROM ${t('leases')} l WHERE l.resource = ANY (f_resource)
        AND (l.owner, l.epoch) = (f_owner[array_position(f_resource, l.resource::text)], f_epoch[array_position(f_resource, l.resource::text)]);
      IF held <> cardinality(f_resource) THEN RAISE EXCEPTION 'lease' USING ERRCODE = 'P0001'; END IF;
    END IF;
    INSERT INTO ${t('commit_marks')} VALUES (p_seq % 65536, p_seq, p_token) ON CONFLICT (slot) DO UPDATE SET seq = excluded.seq, token = excluded.token;
    INSERT INTO ${t('records')} (sublevel, key, value) SELECT * FROM unnest(put_sublevel, put_key, put_value)
      ON CONFLICT (sublevel, key) DO UPDATE SET value = excluded.value;
    RETURN 1;
  END $f$`);
await client.query(`CREATE FUNCTION ${t('commit_bare')}(p_seq bigint, p_token bytea, f_resource text[], f_owner text[], f_epoch bigint[],
    put_sublevel text[], put_key bytea[], put_value bytea[]) RETURNS int LANGUAGE plpgsql AS $f$
  BEGIN
    UPDATE ${t('commit_sequence')} SET seq = p_seq WHERE seq = p_seq - 1;
    IF NOT FOUND THEN RAISE EXCEPTION 'sequence' USING ERRCODE = 'P0001'; END IF;
    INSERT INTO ${t('records')} (sublevel, key, value) SELECT * FROM unnest(put_sublevel, put_key, put_value)
      ON CONFLICT (sublevel, key) DO UPDATE SET value = excluded.value;
    RETURN 1;
  END $f$`);

await client.query(`CREATE FUNCTION ${t('begin_any')}(previous bigint, f_resource text[], f_owner text[], f_epoch bigint[], OUT seq text, OUT stale text) LANGUAGE plpgsql AS $f$
  BEGIN
    UPDATE ${t('commit_sequence')} c SET seq = GREATEST(c.seq, previous) + 1 RETURNING c.seq::text INTO seq;
    SELECT f.resource INTO stale FROM unnest(f_resource, f_owner, f_epoch) AS f(resource, owner, epoch)
      WHERE NOT EXISTS (SELECT FROM ${t('leases')} l WHERE l.resource = f.resource COLLATE "C" AND l.owner = f.owner AND l.epoch = f.epoch) LIMIT 1;
  END $f$`);

let seq = 0;
/** Event keys of the shapes that take no sequence, apart from the sequenced ones'. */
let unsequenced = 1e12;
function ops(n: number): BatchOp[] {
  const eventKey = Buffer.alloc(8);
  eventKey.writeBigUInt64BE(BigInt(n));
  return [
    { type: 'put', sublevel: 'state', key: randomBytes(20), value: randomBytes(118) },
    { type: 'put', sublevel: 'events', key: eventKey, value: randomBytes(204) },
  ];
}

/** The one-string commit: a row-value lease guard, the sequence guard and mark, the writes, COMMIT. */
function oneString(n: number, holdsToCheck: readonly LeaseHold[], batch: readonly BatchOp[]): string {
  const rows = holdsToCheck.map((hold) => `(${textLiteral(hold.resource)}, ${textLiteral(hold.owner)}, ${integerLiteral(hold.epoch)}::bigint)`);
  const guard =
    `WITH held AS (SELECT 1 FROM ${t('leases')} WHERE (resource, owner, epoch) IN (${rows.join(', ')}) ORDER BY resource FOR SHARE) ` +
    `SELECT 1 / (count(*) = ${rows.length})::int FROM held`;
  const taken =
    `WITH next AS (UPDATE ${t('commit_sequence')} SET seq = ${n} WHERE seq = ${n - 1} RETURNING seq), ` +
    `mark AS (INSERT INTO ${t('commit_marks')} (slot, seq, token) SELECT ${n % 65536}, seq, ${byteaLiteral(randomBytes(16))} FROM next ` +
    `ON CONFLICT (slot) DO UPDATE SET seq = excluded.seq, token = excluded.token RETURNING 1) SELECT 1 / count(*)::int FROM mark`;
  return ['BEGIN', ...(rows.length > 0 ? [guard] : []), taken, ...writeStatements(schema, batch), 'COMMIT'].join('; ');
}

function viaFunction(holdsToCheck: readonly LeaseHold[], fn = 'commit_at'): () => Promise<unknown> {
  return () => {
    const batch = ops(++seq) as Array<BatchOp & { value: Buffer }>;
    return client.query({
      name: `${fn}_${holdsToCheck.length}`,
      text: `SELECT ${t(fn)}($1, $2, $3, $4, $5, $6, $7, $8)`,
      values: [
        seq,
        randomBytes(16),
        holdsToCheck.map((hold) => hold.resource),
        holdsToCheck.map((hold) => hold.owner),
        holdsToCheck.map((hold) => hold.epoch),
        batch.map((op) => op.sublevel),
        batch.map((op) => op.key),
        batch.map((op) => op.value),
      ],
    });
  };
}

/** The backend's first round trip with its lease read written another way: one array of hex strings. */
function beginWithHexArray(previous: number, holdsToRead: readonly LeaseHold[]): string {
  const hex = [...new Set(holdsToRead.map((hold) => hold.resource))].map((resource) => `'${Buffer.from(resource, 'utf8').toString('hex')}'`);
  const read =
    `SELECT resource, owner, epoch::text AS epoch FROM ${t('leases')} ` +
    `WHERE resource = ANY (ARRAY(SELECT convert_from(decode(h, 'hex'), 'UTF8') FROM unnest(ARRAY[${hex.join(', ')}]) AS h))`;
  return [beginSequencedCommit(schema, previous, []), read].join('; ');
}

/** The backend's first round trip as a call of a function that takes the sequence and checks the leases. */
function beginViaFunction(previous: number, holdsToRead: readonly LeaseHold[]): string {
  const arr = (items: string[], type: string) => `ARRAY[${items.join(', ')}]::${type}[]`;
  return `BEGIN ISOLATION LEVEL READ COMMITTED; SELECT b.*, pg_current_xact_id()::text AS xid FROM ${t('begin_any')}(${previous}, ${arr(holdsToRead.map((h) => textLiteral(h.resource)), 'text')}, ${arr(holdsToRead.map((h) => textLiteral(h.owner)), 'text')}, ${arr(holdsToRead.map((h) => integerLiteral(h.epoch)), 'bigint')}) b`;
}

/** SHAPES=few: the shapes that call a function, the backend's, and raw's only. */
const only = process.env.SHAPES === 'few';
const shapes: Array<[string, () => Promise<unknown>]> = [
  ['two round trips, the first a function call', async () => {
    const [, begun] = (await client.query(beginViaFunction(seq, fence))) as unknown as pg.QueryResult[];
    if (begun.rows[0].stale !== null) throw new Error('stale');
    seq = Number(begun.rows[0].seq);
    await client.query(writeAndCommit(schema, ops(seq), false, 'probe'));
  }],
  ['function: sequence, ANY lease read, mark, writes', viaFunction(fence, 'commit_any')],
  ['function: sequence, writes (no lease, no mark)', viaFunction(fence, 'commit_bare')],
  ['two round trips (the backend)', async () => {
    await client.query(beginSequencedCommit(schema, seq, fence));
    await client.query(writeAndCommit(schema, ops(++seq), false, 'probe'));
  }],
  ['two round trips, no lease read', async () => {
    await client.query(beginSequencedCommit(schema, seq, []));
    await client.query(writeAndCommit(schema, ops(++seq), false, 'probe'));
  }],
  ['two round trips, leases as a hex array', async () => {
    await client.query(beginWithHexArray(seq, fence));
    await client.query(writeAndCommit(schema, ops(++seq), false, 'probe'));
  }],
  ['one string', () => client.query(oneString(++seq, fence, ops(seq)))],
  ['one string, no lease guard', () => client.query(oneString(++seq, [], ops(seq)))],
  ['one string, the writes alone', () => client.query(['BEGIN', writeAndCommit(schema, ops(++unsequenced), false, 'probe')].join('; '))],
  ['a function, prepared', viaFunction(fence)],
  ['a function, prepared, no lease check', viaFunction([])],
  ['raw pg prepared two-row upsert', () => {
    const [state, event] = ops(++unsequenced) as Array<BatchOp & { value: Buffer }>;
    return client.query({
      name: 'pair',
      text: `INSERT INTO ${t('records')} (sublevel, key, value) VALUES ($1, $2, $3), ($4, $5, $6) ON CONFLICT (sublevel, key) DO UPDATE SET value = excluded.value`,
      values: [state.sublevel, state.key, state.value, event.sublevel, event.key, event.value],
    });
  }],
];

if (only) shapes.splice(4, shapes.length - 5);
const p50s = new Map<string, number[]>();
try {
  for (let round = 0; round < 3; round++) {
    for (const [name, commit] of shapes) {
      for (let i = 0; i < 200; i++) await commit();
      const times: number[] = [];
      for (let i = 0; i < 1500; i++) {
        const start = process.hrtime.bigint();
        await commit();
        times.push(Number(process.hrtime.bigint() - start) / 1000);
      }
      times.sort((a, b) => a - b);
      p50s.set(name, [...(p50s.get(name) ?? []), times[times.length >> 1]]);
    }
  }
  console.log(`${leasesPerCommit} lease(s) per commit; p50 of each of 3 rounds, µs`);
  for (const [name, rounds] of p50s) console.log(`${name.padEnd(40)} ${rounds.map((p50) => p50.toFixed(0).padStart(6)).join(' ')}`);
} finally {
  await client.end();
  await dropSchema(url, schema);
}
