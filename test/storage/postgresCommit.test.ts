import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { LlmStateError } from '../../src/errors.js';
import type { PostgresBackend } from '../../src/storage/PostgresBackend.js';
import type { BatchOp, LeaseHold, SublevelName } from '../../src/storage/StorageBackend.js';
import { storageFailure } from '../../src/storage/storageSuite.js';
import { PostgresProxy } from './postgresProxy.js';
import { testPostgresUrl, TestSchemas } from './postgresTestDatabase.js';
import { describePostgres } from '../support/postgres.js';

const schemas = new TestSchemas();
const open = (backend: PostgresBackend) => schemas.open(backend);

/** Two backends on one schema, as two processes sharing a database. */
async function pair(): Promise<[PostgresBackend, PostgresBackend]> {
  const first = await open(schemas.backend());
  return [first, await open(schemas.again(first))];
}

function put(sublevel: SublevelName, key: Buffer | string, value: Buffer | string): BatchOp {
  return { type: 'put', sublevel, key: Buffer.from(key), value: Buffer.from(value) };
}

function seqKey(seq: number): Buffer {
  const key = Buffer.alloc(8);
  key.writeBigUInt64BE(BigInt(seq));
  return key;
}

async function text(backend: PostgresBackend, sublevel: SublevelName, key: string): Promise<string | undefined> {
  return (await backend.get(sublevel, Buffer.from(key)))?.toString();
}

async function held(backend: PostgresBackend, resource: string, owner: string, ttlMs: number): Promise<LeaseHold> {
  const attempt = await backend.acquireLease(resource, owner, ttlMs);
  assert.ok(attempt.acquired, `${owner} takes ${resource}`);
  return attempt.hold;
}

async function leaseLost(action: () => unknown): Promise<LlmStateError> {
  try {
    await action();
  } catch (err) {
    assert.ok(err instanceof LlmStateError && err.code === 'LEASE_LOST', `expected LEASE_LOST, got ${String(err)}`);
    return err;
  }
  assert.fail('expected LEASE_LOST');
}

describePostgres('backend: commits across processes', () => {
  after(() => schemas.dropAll());
  afterEach(async () => {
    await schemas.closeOpened();
  });

  describe('commit sequence', () => {
    it('many concurrent commits from two processes take sequences 1..N, and at any moment the committed ones are a prefix', async () => {
      const [a, b] = await pair();
      const perProcess = 40;
      // Commits that take longer or shorter between their sequence and their COMMIT: without the order
      // the store keeps, later sequences would overtake earlier ones.
      for (const backend of [a, b]) backend.intercept({ beforeBatch: () => sleep(Math.random() * 5) });
      let committing = true;
      let observations = 0;
      const observer = (async () => {
        while (committing) {
          const seen: number[] = [];
          for await (const [key] of a.iterate('events')) seen.push(Number(key.readBigUInt64BE()));
          assert.deepEqual(seen, Array.from({ length: seen.length }, (_, i) => i + 1), 'a later commit is never visible before an earlier one');
          observations++;
        }
      })();
      const commits = [a, b].flatMap((backend, p) =>
        Array.from({ length: perProcess }, (_, i) => backend.commitNext(0, (seq) => [put('events', seqKey(seq), `process ${p} commit ${i}`)])),
      );
      let sequences: Array<number | undefined>;
      try {
        sequences = await Promise.all(commits);
      } finally {
        committing = false;
        await observer;
      }
      assert.deepEqual([...sequences].sort((x, y) => x! - y!), Array.from({ length: perProcess * 2 }, (_, i) => i + 1));
      assert.ok(observations > 0);
      const values = new Map<number, string>();
      for await (const [key, value] of b.iterate('events')) values.set(Number(key.readBigUInt64BE()), value.toString());
      sequences.forEach((seq, n) => assert.equal(values.get(seq!), `process ${n < perProcess ? 0 : 1} commit ${n % perProcess}`));
    });

    it('takes the next sequence after the larger of the store\'s and the caller\'s, and gives back a sequence not used', async () => {
      const [a, b] = await pair();
      assert.equal(await a.commitNext(0, (seq) => [put('events', seqKey(seq), 'x')]), 1);
      assert.equal(await b.commitNext(10, (seq) => [put('events', seqKey(seq), 'x')]), 11);
      assert.equal(await a.commitNext(0, () => []), undefined);
      assert.equal(await a.commitNext(0, (seq) => [put('events', seqKey(seq), 'x')]), 12);
    });
  });

  describe('leases and fencing', () => {
    it('a process whose lease was taken over after expiry is refused with LEASE_LOST, and writes nothing', async () => {
      const [a, b] = await pair();
      const hold = await held(a, 'scope:x', 'A', 150);
      assert.deepEqual(hold, { resource: 'scope:x', owner: 'A', epoch: 1 });
      const refused = await b.acquireLease('scope:x', 'B', 150);
      assert.equal(refused.acquired, false);
      assert.deepEqual({ owner: refused.acquired ? '' : refused.owner, epoch: refused.acquired ? 0 : refused.epoch }, { owner: 'A', epoch: 1 });
      assert.equal(await a.commitNext(0, (seq) => [put('state', 'written', String(seq))], { fence: [hold] }), 1);

      await sleep(250);
      const takeover = await held(b, 'scope:x', 'B', 10_000);
      assert.equal(takeover.epoch, 2);
      const err = await leaseLost(() => a.commitNext(1, () => [put('state', 'stale', 'x')], { fence: [hold] }));
      assert.deepEqual(err.details, { scope: 'scope:x', owner: 'B', epoch: 2, heldEpoch: 1 });
      assert.match(err.message, /scope:x.*A held at epoch 1 was lost: B holds it now, at epoch 2.*nothing was written/);
      assert.equal(await text(b, 'state', 'stale'), undefined);
      assert.equal(await b.commitNext(1, (seq) => [put('state', 'next', String(seq))], { fence: [takeover] }), 2, 'the refused commit used no sequence');
      assert.deepEqual(await a.renewLeases([hold], 1000), [hold]);
    });

    it('a lease that expired but was not taken over still fences nothing out, and renews', async () => {
      const [a] = await pair();
      const hold = await held(a, 'scope:y', 'A', 100);
      await sleep(200);
      assert.equal(await a.commitNext(0, () => [put('state', 'late', 'x')], { fence: [hold] }), 1);
      assert.deepEqual(await a.renewLeases([hold], 1000), []);
      assert.equal(await text(a, 'state', 'late'), 'x');
    });

    it('a released lease is free at once, and its epoch goes on', async () => {
      const [a, b] = await pair();
      const hold = await held(a, 'scope:z', 'A', 60_000);
      await a.releaseLeases([hold]);
      assert.equal((await held(b, 'scope:z', 'B', 60_000)).epoch, 2);
      await a.releaseLeases([hold]);
      const refused = await a.acquireLease('scope:z', 'A', 1000);
      assert.ok(!refused.acquired && refused.owner === 'B', 'releasing a lease lost already leaves it to its new owner');
    });

    it('taking one\'s own lease again moves to a new epoch, which fences the former incarnation', async () => {
      const [a, restarted] = await pair();
      const former = await held(a, 'scope:w', 'process-1', 60_000);
      const now = await held(restarted, 'scope:w', 'process-1', 60_000);
      assert.equal(now.epoch, former.epoch + 1);
      const err = await leaseLost(() => a.commitNext(0, () => [put('state', 'k', 'v')], { fence: [former] }));
      assert.deepEqual(err.details, { scope: 'scope:w', owner: 'process-1', epoch: 2, heldEpoch: 1 });
    });

    it('a takeover waits for a fenced commit under way, and the commit is written', async () => {
      const [a, b] = await pair();
      const hold = await held(a, 'scope:v', 'A', 100);
      await sleep(150);
      let takeover: Promise<unknown> | undefined;
      let settled = false;
      let settledWhileCommitHeldTheLease: boolean | undefined;
      const stop = a.intercept({
        // Runs after the commit has begun, and so holds the lease row: the takeover must still be waiting
        // when the hold ends. (Whether it settles before commitNext returns, once COMMIT has released the
        // row, is a race between two connections, not a property of the fence.)
        async beforeBatch() {
          takeover = b.acquireLease('scope:v', 'B', 60_000);
          takeover.then(() => (settled = true));
          await sleep(200);
          settledWhileCommitHeldTheLease = settled;
        },
      });
      assert.equal(await a.commitNext(0, () => [put('state', 'in flight', 'x')], { fence: [hold] }), 1);
      stop();
      assert.equal(settledWhileCommitHeldTheLease, false, 'the takeover waited for the commit');
      assert.deepEqual(await takeover, { acquired: true, hold: { resource: 'scope:v', owner: 'B', epoch: 2 }, expiresAt: (await takeover as { expiresAt: number }).expiresAt });
      assert.equal(await text(b, 'state', 'in flight'), 'x');
    });

    it('a plain batch is fenced the same way: refused with LEASE_LOST once the lease was taken over, written before', async () => {
      const [a, b] = await pair();
      const hold = await held(a, 'hook:h', 'A', 100);
      await a.batch([put('outbox', 'done', 'first')], { fence: [hold] });
      await sleep(150);
      await held(b, 'hook:h', 'B', 60_000);
      const err = await leaseLost(() => a.batch([put('outbox', 'done', 'again')], { fence: [hold] }));
      assert.deepEqual(err.details, { scope: 'hook:h', owner: 'B', epoch: 2, heldEpoch: 1 });
      assert.equal(await text(b, 'outbox', 'done'), 'first', 'the refused batch wrote nothing');
    });

    it('a fenced lease that no longer exists is lost, with no owner', async () => {
      const [a] = await pair();
      const err = await leaseLost(() => a.commitNext(0, () => [put('state', 'k', 'v')], { fence: [{ resource: 'scope:none', owner: 'A', epoch: 1 }] }));
      assert.deepEqual(err.details, { scope: 'scope:none', owner: null, epoch: null, heldEpoch: 1 });
    });
  });

  describe('connection loss', () => {
    async function terminate(schema: string, where: string): Promise<number> {
      const rows = await schemas.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND ${where}`, [`llmstate:${schema}`]);
      return rows.length;
    }

    it('a sequenced commit whose connection is terminated before COMMIT is refused, wrote nothing and used no sequence', async () => {
      const schema = schemas.fresh();
      const backend = await open(schemas.backend(schema));
      const stop = backend.intercept({
        async beforeBatch() {
          assert.equal(await terminate(schema, `state = 'idle in transaction'`), 1);
        },
      });
      const err = await storageFailure(() => backend.commitNext(0, () => [put('state', 'a', 'v'), put('audit', 'b', 'v')]));
      stop();
      assert.match(err.message, /^Batch of 2 operations failed; nothing was written: The connection to .* was lost during the commit, and PostgreSQL reports the transaction rolled back/);
      assert.equal(await text(backend, 'state', 'a'), undefined);
      assert.equal(await text(backend, 'audit', 'b'), undefined);
      assert.equal(await backend.commitNext(0, () => [put('state', 'c', 'v')]), 1);
    });

    it('a batch whose connection is terminated while it waits on a lock is refused and wrote nothing', async () => {
      const schema = schemas.fresh();
      const backend = await open(schemas.backend(schema));
      const admin = await schemas.admin();
      await admin.query('BEGIN');
      await admin.query(`INSERT INTO "${schema}".records VALUES ('state', 'locked', 'x')`);
      const batch = storageFailure(() => backend.batch([put('state', 'a', 'v'), put('state', 'locked', 'v')]));
      try {
        for (let tries = 0; (await terminate(schema, `wait_event_type = 'Lock'`)) === 0; tries++) {
          assert.ok(tries < 100, 'the batch waits on the lock');
          await sleep(20);
        }
      } finally {
        await admin.query('ROLLBACK');
      }
      assert.match((await batch).message, /nothing was written: .*PostgreSQL reports the transaction rolled back/);
      assert.equal(await text(backend, 'state', 'a'), undefined);
      await backend.batch([put('state', 'a', 'again')]);
      assert.equal(await text(backend, 'state', 'a'), 'again', 'the broken connection was dropped from the pool');
    });

    it('a batch and a sequenced commit whose COMMIT answer is lost are reported committed, as they were', async () => {
      const proxy = await PostgresProxy.start(testPostgresUrl());
      try {
        const schema = schemas.fresh();
        const backend = await open(schemas.backend(schema, { connectionString: proxy.url }));
        let dropped = proxy.dropNextCommitAnswer();
        await backend.batch([put('state', 'a', 'v')]);
        await dropped;
        assert.equal(await text(backend, 'state', 'a'), 'v');
        dropped = proxy.dropNextCommitAnswer();
        assert.equal(await backend.commitNext(0, (seq) => [put('events', seqKey(seq), 'v')]), 1);
        await dropped;
        assert.equal((await backend.get('events', seqKey(1)))?.toString(), 'v');
        assert.equal(await backend.commitNext(0, (seq) => [put('events', seqKey(seq), 'v')]), 2);
      } finally {
        await schemas.closeOpened();
        await proxy.close();
      }
    });
  });
});
