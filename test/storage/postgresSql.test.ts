import assert from 'node:assert/strict';
import { LlmStateError } from '../../src/errors.js';
import { createMemoryBackend } from '../../src/storage/LevelBackend.js';
import { parseBytea } from '../../src/storage/postgresConnections.js';
import { resolveOutcome, unknownOutcomeError, type TransactionStatus } from '../../src/storage/postgresOutcome.js';
import { announcementChannel, announcementOfEverything, parseAnnouncement } from '../../src/storage/postgresAnnouncements.js';
import { beginSequencedCommit, lastOpPerKey, writeAndCommit } from '../../src/storage/postgresSql.js';
import { SUBLEVELS, WATCHED_SUBLEVELS, type BatchOp } from '../../src/storage/StorageBackend.js';

const HEX = /E'\\\\x([0-9a-f]*)'::bytea/g;
const SUBLEVEL = new RegExp(`'(${SUBLEVELS.join('|')})'`, 'g');

/** The SQL with every bytea literal as B and every sublevel literal as S: what is left is fixed text. */
function skeleton(sql: string): string {
  return sql.replace(HEX, 'B').replace(SUBLEVEL, 'S');
}

function hexes(sql: string): string[] {
  return [...sql.matchAll(HEX)].map((match) => match[1]);
}

const HOSTILE = ["'; DROP TABLE records; --", '\\x41\\', "E'\\\\'", '\0', '$1', '😀', '"quoted"'];
/** Namespaces whose batches announce nothing: the announcement of the others has tests of its own. */
const UNWATCHED = SUBLEVELS.filter((sublevel) => !(WATCHED_SUBLEVELS as readonly string[]).includes(sublevel));

describe('PostgreSQL statements', () => {
  it('a batch becomes one upsert, one delete and COMMIT, whose only varying text is hex digits and sublevel names', () => {
    const ops: BatchOp[] = HOSTILE.flatMap((text, i): BatchOp[] => [
      { type: 'put', sublevel: UNWATCHED[i], key: Buffer.from(text), value: Buffer.from(`${text} value`) },
      { type: 'del', sublevel: UNWATCHED[i + 1], key: Buffer.from(text) },
    ]);
    const sql = writeAndCommit('tenant_1', ops, false, 'me');
    const values = HOSTILE.map(() => '(S, B, B)').join(', ');
    const keys = HOSTILE.map(() => '(S, B)').join(', ');
    assert.equal(
      skeleton(sql),
      `INSERT INTO "tenant_1".records (sublevel, key, value) VALUES ${values} ON CONFLICT (sublevel, key) DO UPDATE SET value = excluded.value; ` +
        `DELETE FROM "tenant_1".records WHERE (sublevel, key) IN (${keys}); COMMIT`,
    );
    const literals = hexes(sql).map((hex) => Buffer.from(hex, 'hex').toString());
    for (const text of HOSTILE) {
      assert.ok(literals.includes(text), `${JSON.stringify(text)} travels as hex`);
      assert.ok(literals.includes(`${text} value`));
    }
  });

  it('a batch that asked for sync raises synchronous_commit only where the server turned it off', () => {
    const sql = writeAndCommit('s', [{ type: 'put', sublevel: 'state', key: Buffer.from('k'), value: Buffer.alloc(0) }], true, 'me');
    assert.equal(
      skeleton(sql),
      'INSERT INTO "s".records (sublevel, key, value) VALUES (S, B, B) ON CONFLICT (sublevel, key) DO UPDATE SET value = excluded.value; ' +
        "SELECT set_config('synchronous_commit', 'on', true) WHERE current_setting('synchronous_commit') = 'off'; COMMIT",
    );
  });

  it('within a batch the last operation on a key wins: one row per key, in key order', () => {
    const key = (text: string) => Buffer.from(text);
    const ops: BatchOp[] = [
      { type: 'put', sublevel: 'state', key: key('b'), value: key('first') },
      { type: 'put', sublevel: 'events', key: key('b'), value: key('other sublevel') },
      { type: 'del', sublevel: 'state', key: key('a') },
      { type: 'put', sublevel: 'state', key: key('b'), value: key('second') },
      { type: 'put', sublevel: 'state', key: key('a'), value: key('back') },
      { type: 'put', sublevel: 'state', key: key('c'), value: key('gone') },
      { type: 'del', sublevel: 'state', key: key('c') },
    ];
    const last = lastOpPerKey(ops).map((op) => `${op.type} ${op.sublevel} ${op.key} ${op.type === 'put' ? op.value : ''}`.trim());
    assert.deepEqual(last, ['put events b other sublevel', 'put state b second', 'put state a back', 'del state c']);
    const sql = writeAndCommit('s', ops, false, 'me');
    assert.equal(skeleton(sql).match(/\(S, B, B\)/g)?.length, 3);
    assert.deepEqual(
      hexes(sql).map((hex) => Buffer.from(hex, 'hex').toString()),
      ['b', 'other sublevel', 'a', 'back', 'b', 'second', 'c'],
    );
  });

  it('a batch that changes access or sessions announces each key before COMMIT, and only such a batch', () => {
    const ops: BatchOp[] = [
      { type: 'put', sublevel: 'state', key: Buffer.from('s'), value: Buffer.from('v') },
      { type: 'put', sublevel: 'access', key: Buffer.from("g\0'; --"), value: Buffer.from('v') },
      { type: 'del', sublevel: 'sessions', key: Buffer.from('session\0x') },
    ];
    const sql = writeAndCommit('s', ops, false, 'store-a');
    const notify = /SELECT pg_notify\('([a-z0-9_]+)', '([^']*)'\); COMMIT$/.exec(sql);
    assert.ok(notify, sql);
    assert.equal(notify[1], announcementChannel('s'));
    assert.notEqual(announcementChannel('s'), announcementChannel('t'));
    assert.equal(parseAnnouncement(notify[2], 'store-a'), undefined, 'a store skips its own');
    assert.deepEqual(parseAnnouncement(notify[2], 'store-b'), [
      { sublevel: 'access', keys: [Buffer.from("g\0'; --")] },
      { sublevel: 'sessions', keys: [Buffer.from('session\0x')] },
    ]);
    assert.doesNotMatch(writeAndCommit('s', [ops[0]], false, 'store-a'), /pg_notify/);
  });

  it('a batch whose keys do not fit a NOTIFY announces its namespace whole', () => {
    const ops: BatchOp[] = Array.from({ length: 200 }, (_, i) => ({ type: 'del', sublevel: 'sessions', key: Buffer.alloc(40, i) }));
    const sql = writeAndCommit('s', ops, false, 'store-a');
    const payload = /pg_notify\('[a-z0-9_]+', '([^']*)'\)/.exec(sql)![1];
    assert.ok(payload.length < 8000);
    assert.deepEqual(parseAnnouncement(payload, 'store-b'), [{ sublevel: 'sessions', keys: 'all' }]);
  });

  it('a store replaced whole announces every watched namespace whole, to every store', () => {
    const payload = /^SELECT pg_notify\('([a-z0-9_]+)', '([^']*)'\)$/.exec(announcementOfEverything('s'));
    assert.ok(payload);
    assert.equal(payload[1], announcementChannel('s'));
    assert.deepEqual(parseAnnouncement(payload[2], 'store-a'), WATCHED_SUBLEVELS.map((sublevel) => ({ sublevel, keys: 'all' })));
  });

  it('refuses an operation that is not a put or del of Buffers in a known sublevel, before any SQL is made', () => {
    const bad = [
      { type: 'put', sublevel: 'state', key: null, value: Buffer.alloc(0) },
      { type: 'put', sublevel: 'state', key: 'text', value: Buffer.alloc(0) },
      { type: 'put', sublevel: 'state', key: Buffer.from('k'), value: 'text' },
      { type: 'put', sublevel: "state'; --", key: Buffer.from('k'), value: Buffer.alloc(0) },
      { type: 'merge', sublevel: 'state', key: Buffer.from('k') },
    ];
    for (const op of bad) assert.throws(() => writeAndCommit('s', [op as unknown as BatchOp], false, 'me'), TypeError);
  });

  it('a sequenced commit takes the next sequence, then reads its fence by hex-encoded names with no row lock, in one string', () => {
    const fence = HOSTILE.map((text, i) => ({ resource: `scope ${text}`, owner: text, epoch: i + 1 }));
    const sql = beginSequencedCommit('s', 41, fence);
    const names = HOSTILE.map(() => "convert_from(B, 'UTF8')").join(', ');
    assert.equal(
      skeleton(sql),
      'BEGIN ISOLATION LEVEL READ COMMITTED; UPDATE "s".commit_sequence SET seq = GREATEST(seq, 41) + 1 RETURNING seq::text AS seq, pg_current_xact_id()::text AS xid; ' +
        `SELECT resource, owner, epoch::text AS epoch FROM "s".leases WHERE resource IN (${names})`,
    );
    assert.deepEqual(hexes(sql).map((hex) => Buffer.from(hex, 'hex').toString()), fence.map((hold) => hold.resource));
    assert.equal(
      skeleton(beginSequencedCommit('s', 0, [])),
      'BEGIN ISOLATION LEVEL READ COMMITTED; UPDATE "s".commit_sequence SET seq = GREATEST(seq, 0) + 1 RETURNING seq::text AS seq, pg_current_xact_id()::text AS xid',
    );
    for (const previous of [1.5, Number.NaN, 2 ** 60]) assert.throws(() => beginSequencedCommit('s', previous, []), TypeError);
  });

  it('reads bytea in hex and in the escape form', () => {
    assert.deepEqual(parseBytea('\\x00ff41'), Buffer.from([0x00, 0xff, 0x41]));
    assert.deepEqual(parseBytea('\\x'), Buffer.alloc(0));
    assert.deepEqual(parseBytea('a\\000\\377\\\\b'), Buffer.from([0x61, 0x00, 0xff, 0x5c, 0x62]));
  });
});

describe('the outcome of a commit whose connection was lost', () => {
  function clock() {
    let now = 0;
    return { now: () => now, sleep: async (ms: number) => void (now += ms) };
  }

  function answers(...statuses: Array<TransactionStatus | Error>): () => Promise<TransactionStatus> {
    return async () => {
      const next = statuses.length > 1 ? statuses.shift()! : statuses[0];
      if (next instanceof Error) throw next;
      return next;
    };
  }

  it('is what the server says once it answers: committed or aborted', async () => {
    const unreachable = new Error('connect ECONNREFUSED');
    assert.equal(await resolveOutcome(answers(unreachable, unreachable, 'committed'), { deadlineMs: 10_000, ...clock() }), 'committed');
    assert.equal(await resolveOutcome(answers('in progress', 'aborted'), { deadlineMs: 10_000, ...clock() }), 'aborted');
  });

  it('is unknown when the server cannot say by the deadline, or keeps no status for the transaction', async () => {
    const time = clock();
    assert.equal(await resolveOutcome(answers(new Error('connect ECONNREFUSED')), { deadlineMs: 10_000, ...time }), 'unknown');
    assert.equal(time.now(), 10_000);
    assert.equal(await resolveOutcome(answers('in progress'), { deadlineMs: 500, ...clock() }), 'unknown');
    assert.equal(await resolveOutcome(answers(null), { deadlineMs: 10_000, ...clock() }), 'unknown');
  });
});

describe('a commit that may or may not have been written', () => {
  it('reaches the caller as it is, not as a failure that wrote nothing', async () => {
    const backend = createMemoryBackend();
    await backend.open();
    const unknown = unknownOutcomeError('postgres://db/x (schema s)', 1, '1234', 10_000, new Error('Connection terminated unexpectedly'));
    backend.intercept({
      beforeBatch() {
        throw unknown;
      },
    });
    const op: BatchOp = { type: 'put', sublevel: 'state', key: Buffer.from('k'), value: Buffer.from('v') };
    await assert.rejects(() => backend.batch([op]), (err: unknown) => err === unknown);
    await assert.rejects(() => backend.commitNext(0, () => [op]), (err: unknown) => err === unknown);
    assert.ok(unknown instanceof LlmStateError && unknown.code === 'STORAGE_FAILED');
    assert.match(unknown.message, /^Batch of 1 operations may or may not have been written: .* within 10 s\. Read the data back/);
    assert.deepEqual(unknown.details, { outcome: 'unknown', location: 'postgres://db/x (schema s)', xid: '1234' });
    await backend.close();
  });
});
