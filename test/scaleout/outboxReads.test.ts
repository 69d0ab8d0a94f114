import assert from 'node:assert/strict';
import { Scope } from '../../src/index.js';
import { storageOf } from '../../src/runtime.js';
import { registerScripted } from '../hooks/hookHelpers.js';
import { describePostgres } from '../support/postgres.js';
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
});
