import assert from 'node:assert/strict';
import { Scope } from '../../src/index.js';
import { storageOf } from '../../src/runtime.js';
import { decodeHookSeqKey } from '../../src/hooks/outboxRecords.js';
import { registerScripted } from '../hooks/hookHelpers.js';
import { describePostgres, postgresQuery } from '../support/postgres.js';
import { SharedSchema, until } from './sharedSchema.js';

// Two runtimes on one schema stand for two processes: B commits, A delivers the hook and reads B's
// entries from the outbox.

describePostgres('scale-out: reading the outbox of a hook delivered here', function () {
  this.timeout(60_000);
  const shared = new SharedSchema();

  for (const [what, failing] of [
    ['an event log record', 'events'],
    ['the outbox', 'outbox'],
  ] as const) {
    it(`dead-letters nothing when a read of ${what} fails (a dropped connection), and delivers it all on a later round`, async () => {
      const a = await shared.start('a');
      const b = await shared.start('b', { hooks: { autoStart: false } });
      await registerScripted(a, 'h');
      await until(() => b.hooks.get('h') !== undefined);

      let failures = 0;
      const stop = storageOf(a).intercept({
        beforeGet: (sublevel) => {
          if (sublevel === failing && failures < 2) {
            failures += 1;
            throw new Error('terminating connection due to administrator command');
          }
        },
        interceptsReads: () => failures < 2,
      });
      const iterating = storageOf(a).iterate.bind(storageOf(a));
      if (failing === 'outbox') {
        // The outbox is read by iteration: fail its first two reads after one entry.
        storageOf(a).iterate = (sublevel, options) => {
          const entries = iterating(sublevel, options);
          if (sublevel !== 'outbox' || failures >= 2) return entries;
          failures += 1;
          return (async function* () {
            for await (const entry of entries) {
              yield entry;
              throw new Error('terminating connection due to administrator command');
            }
          })();
        };
      }
      try {
        for (let i = 0; i < 3; i++) await b.state.set(Scope.agent('bea'), `k${i}`, i);
        const eventIds = (await b.events.query({ kinds: ['state.set'] })).map((event) => event.id);
        await until(async () => (await a.hooks.history({ hookName: 'h', status: 'succeeded' })).length > 0 && failures >= 2 && a.metrics().hooks.pending === 0);
        await a.hooks.idle();
        const delivered = (await a.hooks.history({ hookName: 'h', status: 'succeeded' })).flatMap((execution) => execution.eventIds).sort();
        assert.deepEqual(delivered, [...eventIds].sort(), 'each event delivered once');
        assert.deepEqual(await a.hooks.deadLetters({ hookName: 'h' }), [], 'and none dead-lettered');
      } finally {
        stop();
        storageOf(a).iterate = iterating;
      }
    });
  }

  it('delivers the entry of a commit that took the sequence of one of its own that failed, though a read passed that sequence meanwhile', async () => {
    const a = await shared.start('a');
    const b = await shared.start('b', { hooks: { autoStart: false } });
    await registerScripted(a, 'h');
    await until(() => b.hooks.get('h') !== undefined);

    // Counts the reads of the outbox A finishes: a read begun after B's commit sees it.
    let outboxReads = 0;
    const iterating = storageOf(a).iterate.bind(storageOf(a));
    storageOf(a).iterate = (sublevel, options) => {
      const entries = iterating(sublevel, options);
      if (sublevel !== 'outbox') return entries;
      return (async function* () {
        yield* entries;
        outboxReads += 1;
      })();
    };
    let failedSeq: number | undefined;
    let bEventId: string | undefined;
    const stop = storageOf(a).intercept({
      beforeBatch: async (ops) => {
        const staged = ops.find((op) => op.sublevel === 'outbox' && op.type === 'put');
        if (staged === undefined || failedSeq !== undefined) return;
        // A has taken its sequence and staged its entry, which it would queue itself. Its transaction is
        // ended under it (the server rolls it back, as when its connection dies)...
        failedSeq = decodeHookSeqKey(staged.key).seq;
        await postgresQuery(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND backend_xid IS NOT NULL',
          [`llmstate:${shared.schema.schema}`],
        );
        // ...B's commit takes the sequence given back, and stages an entry of its own under it...
        await b.state.set(Scope.agent('bea'), 'k', 1);
        [bEventId] = (await b.events.query({ kinds: ['state.set'] })).map((event) => event.id);
        // ...and A reads the outbox before it learns that its commit failed.
        const reads = outboxReads;
        await until(() => outboxReads >= reads + 2);
      },
    });
    try {
      const failed = await a.state.set(Scope.agent('ada'), 'k', 1).then(
        () => undefined,
        (error: { code?: string }) => error,
      );
      assert.equal(failed?.code, 'STORAGE_FAILED', 'A\'s commit failed');
      assert.equal(bEventId, `${failedSeq}.0`, 'B committed under the sequence A had staged');
      await until(async () => (await a.hooks.history({ hookName: 'h', eventId: bEventId, status: 'succeeded' })).length === 1);
      assert.deepEqual(await a.hooks.deadLetters({ hookName: 'h' }), []);
    } finally {
      stop();
      storageOf(a).iterate = iterating;
    }
  });

  it('queues once the entry of a commit that took the sequence of one of its own that failed', async () => {
    const a = await shared.start('a');
    const b = await shared.start('b', { hooks: { autoStart: false } });
    // Slow enough that the entry is still in the outbox at the next reads.
    await registerScripted(a, 'h', { sleepMs: 1500 });
    await until(() => b.hooks.get('h') !== undefined);
    let failedSeq: number | undefined;
    const stop = storageOf(a).intercept({
      beforeBatch: (ops) => {
        const staged = ops.find((op) => op.sublevel === 'outbox' && op.type === 'put');
        if (staged === undefined || failedSeq !== undefined) return;
        failedSeq = decodeHookSeqKey(staged.key).seq;
        // A plain failure: the transaction is rolled back, and the sequence given back.
        throw new Error('connection reset');
      },
    });
    try {
      const failed = await a.state.set(Scope.agent('ada'), 'k', 1).then(
        () => undefined,
        (error: { code?: string }) => error,
      );
      assert.equal(failed?.code, 'STORAGE_FAILED');
      await b.state.set(Scope.agent('bea'), 'k', 1);
      const [bEventId] = (await b.events.query({ kinds: ['state.set'] })).map((event) => event.id);
      assert.equal(bEventId, `${failedSeq}.0`, 'B committed under the sequence A had staged');
      await until(async () => (await a.hooks.history({ hookName: 'h', eventId: bEventId, status: 'succeeded' })).length === 1);
      // Reads go on every 250 ms while the execution runs: a second queuing would run before idle resolves.
      await a.hooks.idle();
      assert.equal((await a.hooks.history({ hookName: 'h', eventId: bEventId })).length, 1, 'one execution');
    } finally {
      stop();
    }
  });

  it('queues once the entry staged under a holding of the delivery that was lost and taken again before the commit returned', async () => {
    // Leases of 900 ms, renewed every 300 ms: A hears of the loss, and takes the delivery again, quickly.
    const a = await shared.start('a', { leases: { owner: 'a', ttlMs: 900, waitMs: 0 } });
    await registerScripted(a, 'h');
    const leases = `"${shared.schema.schema}".leases`;
    const epoch = async () => Number((await postgresQuery<{ epoch: string }>(`SELECT epoch::text AS epoch FROM ${leases} WHERE resource = 'hook:h' AND owner = 'a'`))[0]?.epoch ?? 0);
    await until(async () => (await epoch()) > 0);
    const firstEpoch = await epoch();

    const storage = storageOf(a);
    const committing = storage.commitNext.bind(storage);
    let stagedSeq: number | undefined;
    storage.commitNext = async (previous, build, options) => {
      let staging = false;
      const seq = await committing(
        previous,
        (taken) => {
          const ops = build(taken);
          staging = stagedSeq === undefined && ops.some((op) => op.sublevel === 'outbox' && op.type === 'put');
          return ops;
        },
        options,
      );
      if (!staging) return seq;
      stagedSeq = seq;
      // The batch has committed, with the entry A staged to queue itself. Before A hears of it, another
      // process takes the delivery over (its lease expired) and gives it up, and A takes it again.
      await postgresQuery(`UPDATE ${leases} SET owner = 'b', epoch = epoch + 1, expires_at = '-infinity' WHERE resource = 'hook:h'`);
      await until(async () => (await epoch()) > firstEpoch);
      return seq;
    };
    try {
      await a.state.set(Scope.agent('ada'), 'k', 1);
      const [eventId] = (await a.events.query({ kinds: ['state.set'] })).map((event) => event.id);
      assert.equal(eventId, `${stagedSeq}.0`);
      assert.equal(await epoch(), firstEpoch + 2, 'A delivers the hook under a new holding');
      await until(async () => (await a.hooks.history({ hookName: 'h', eventId, status: 'succeeded' })).length > 0);
      await a.hooks.idle();
      assert.equal((await a.hooks.history({ hookName: 'h', eventId })).length, 1, 'one execution: queued by the new holding only');
    } finally {
      storage.commitNext = committing;
    }
  });
});
