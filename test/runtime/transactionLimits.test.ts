import assert from 'node:assert/strict';
import { Scope, type Runtime, type TransactionHandle } from '../../src/index.js';
import { storageOf } from '../../src/runtime.js';
import { rejection, RuntimeFixture } from '../helpers.js';

/** A promise that never settles: a callback stuck on something that will not answer. */
const never = new Promise<never>(() => {});

describe('transaction limits', () => {
  let fixture: RuntimeFixture;
  beforeEach(() => {
    fixture = new RuntimeFixture('txlimits');
  });
  afterEach(() => fixture.dispose());
  const scope = Scope.agent('a1');

  async function stateEvents(rt: Runtime): Promise<number> {
    return (await rt.events.query({ scope: scope.toString() })).length;
  }

  describe('the time limit', () => {
    it('a callback that never settles rejects with TRANSACTION_TIMEOUT and leaves no trace', async () => {
      let rt = await fixture.open({ transactionTimeoutMs: 20 });
      await rt.state.set(scope, 'k', 'before');
      const eventsBefore = await stateEvents(rt);
      const error = await rejection(
        rt.state.transaction(scope, (tx) => {
          tx.set('k', 'during');
          tx.set('other', 1);
          return never;
        }),
      );
      assert.equal(error.code, 'TRANSACTION_TIMEOUT');
      assert.match(error.message, /agent:a1/);
      assert.match(error.message, /20 ms/);
      assert.deepEqual(error.details, { scope: 'agent:a1', timeoutMs: 20 });
      assert.equal(await rt.state.get(scope, 'k'), 'before');
      assert.equal(await rt.state.get(scope, 'other'), undefined);
      assert.equal(await stateEvents(rt), eventsBefore, 'no event is recorded');
      rt = await fixture.reopen(rt);
      assert.deepEqual(await rt.state.listKeys(scope), ['k']);
      assert.equal(await rt.state.get(scope, 'k'), 'before');
      assert.equal(await stateEvents(rt), eventsBefore);
    });

    it('tx.signal aborts on the time-out, with the rejection as its reason', async () => {
      const rt = await fixture.open({ transactionTimeoutMs: 20 });
      let signal: AbortSignal | undefined;
      let reasonSeen: unknown;
      const error = await rejection(
        rt.state.transaction(scope, (tx) => {
          signal = tx.signal;
          assert.equal(tx.signal.aborted, false, 'the signal starts not aborted');
          tx.signal.addEventListener('abort', () => (reasonSeen = tx.signal.reason));
          return never;
        }),
      );
      assert.ok(signal !== undefined);
      assert.equal(signal.aborted, true);
      assert.equal(signal.reason, error);
      assert.equal(reasonSeen, error, 'an abort listener sees the reason');
    });

    it('writes and reads through tx after the time-out throw the abort reason', async () => {
      const rt = await fixture.open({ transactionTimeoutMs: 20 });
      let handle: TransactionHandle | undefined;
      const error = await rejection(
        rt.state.transaction(scope, (tx) => {
          handle = tx;
          return never;
        }),
      );
      assert.equal(error.code, 'TRANSACTION_TIMEOUT');
      assert.throws(() => handle!.set('k', 1), (thrown: unknown) => thrown === error);
      assert.throws(() => handle!.delete('k'), (thrown: unknown) => thrown === error);
      assert.equal(await rejection(handle!.get('k')), error);
      assert.equal(await rt.state.get(scope, 'k'), undefined);
    });

    it('a callback that finishes after its time-out is ignored: its writes are discarded', async () => {
      const rt = await fixture.open({ transactionTimeoutMs: 20 });
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let settled = false;
      const outcome = rt.state.transaction(scope, async (tx) => {
        tx.set('late', 'buffered before the time-out');
        await gate;
        settled = true;
        return 'too late';
      });
      const error = await rejection(outcome);
      assert.equal(error.code, 'TRANSACTION_TIMEOUT');
      release();
      while (!settled) await new Promise((resolve) => setImmediate(resolve));
      await rt.state.set(scope, 'after', 1);
      assert.equal(await rt.state.get(scope, 'late'), undefined);
      assert.deepEqual(await rt.state.listKeys(scope), ['after']);
    });

    it('messages queued behind a timed-out transaction on the same scope proceed', async () => {
      const rt = await fixture.open({ transactionTimeoutMs: 20 });
      await rt.state.set(scope, 'n', 1);
      const stuck = rt.state.transaction(scope, () => never);
      const read = rt.state.get(scope, 'n');
      const write = rt.state.set(scope, 'n', 2);
      const removed = rt.state.delete(scope, 'absent');
      const next = rt.state.transaction(scope, async (tx) => {
        tx.set('n', ((await tx.get('n')) as number) + 1);
        return 'next';
      });
      assert.equal((await rejection(stuck)).code, 'TRANSACTION_TIMEOUT');
      assert.equal(await read, 1);
      await write;
      assert.equal(await removed, false);
      assert.equal(await next, 'next');
      assert.equal(await rt.state.get(scope, 'n'), 3);
      // The scope's mailbox keeps going, for reads and transactions alike.
      assert.equal(await rt.state.transaction(scope, (tx) => tx.get('n')), 3);
    });

    it('a read through tx in flight when the time-out fires rejects with the abort reason', async () => {
      const rt = await fixture.open({ transactionTimeoutMs: 20 });
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let readStarted!: () => void;
      const started = new Promise<void>((resolve) => (readStarted = resolve));
      const remove = storageOf(rt).intercept({
        async beforeGet() {
          readStarted();
          await gate;
        },
      });
      let read: Promise<unknown> | undefined;
      const outcome = rt.state.transaction(scope, (tx) => {
        read = tx.get('k');
        return never;
      });
      await started;
      const error = await rejection(outcome);
      assert.equal(error.code, 'TRANSACTION_TIMEOUT');
      release();
      assert.equal(await rejection(read!), error);
      remove();
      await rt.state.set(scope, 'k', 'new');
      assert.equal(await rt.state.get(scope, 'k'), 'new');
    });

    it('a transaction that finishes in time commits, and its signal is never aborted', async () => {
      const rt = await fixture.open({ transactionTimeoutMs: 1000 });
      let signal: AbortSignal | undefined;
      const result = await rt.state.transaction(scope, async (tx) => {
        signal = tx.signal;
        tx.set('k', (await tx.get('k')) ?? 'fresh');
        return 'done';
      });
      assert.equal(result, 'done');
      assert.equal(await rt.state.get(scope, 'k'), 'fresh');
      assert.equal(signal!.aborted, false);
    });

    it('a per-call timeoutMs overrides the runtime option', async () => {
      const rt = await fixture.open({ transactionTimeoutMs: 600_000 });
      const error = await rejection(rt.state.transaction(scope, () => never, { timeoutMs: 20 }));
      assert.equal(error.code, 'TRANSACTION_TIMEOUT');
      assert.deepEqual(error.details, { scope: 'agent:a1', timeoutMs: 20 });
    });

    it('a per-call timeoutMs must be a positive integer', async () => {
      const rt = await fixture.open();
      const cases: [unknown, string][] = [
        [0, '`0` (number)'],
        [-5, '`-5` (number)'],
        [1.5, '`1.5` (number)'],
        [Infinity, '`Infinity` (number)'],
        ['20', '`"20"` (string)'],
        [null, '`null`'],
      ];
      let ran = false;
      for (const [value, shown] of cases) {
        const error = await rejection(
          rt.state.transaction(scope, () => void (ran = true), { timeoutMs: value as number }),
        );
        assert.ok(error instanceof TypeError, `${String(value)}: expected a TypeError, got ${String(error)}`);
        assert.equal(error.message, `Expected \`timeoutMs\` to be a positive integer, got ${shown}`);
      }
      assert.equal(ran, false, 'a refused transaction never runs its callback');
    });
  });

  describe('close()', () => {
    it('settles with a never-settling transaction open: it aborts it with RUNTIME_CLOSED after the grace', async () => {
      let rt = await fixture.open({ transactionTimeoutMs: 600_000, closeGraceMs: 10 });
      await rt.state.set(scope, 'k', 'before');
      let signal: AbortSignal | undefined;
      const stuck = rejection(
        rt.state.transaction(scope, (tx) => {
          signal = tx.signal;
          tx.set('k', 'during');
          return never;
        }),
      );
      const elsewhere = rt.state.set(Scope.agent('a2'), 'k', 'acknowledged');
      const queuedBehind = rt.state.set(scope, 'behind', 'acknowledged');
      await rt.close();
      const error = await stuck;
      assert.equal(error.code, 'RUNTIME_CLOSED');
      assert.match(error.message, /agent:a1/);
      assert.equal(signal!.aborted, true);
      assert.equal(signal!.reason, error);
      await elsewhere;
      await queuedBehind;
      rt = await fixture.open();
      assert.equal(await rt.state.get(scope, 'k'), 'before', 'the aborted transaction wrote nothing');
      assert.equal(await rt.state.get(scope, 'behind'), 'acknowledged');
      assert.equal(await rt.state.get(Scope.agent('a2'), 'k'), 'acknowledged');
    });

    it('a transaction queued behind one that close() aborts is refused without running', async () => {
      const rt = await fixture.open({ transactionTimeoutMs: 600_000, closeGraceMs: 0 });
      const stuck = rejection(rt.state.transaction(scope, () => never));
      let ran = false;
      const queued = rejection(
        rt.state.transaction(scope, (tx) => {
          ran = true;
          tx.set('k', 1);
        }),
      );
      await rt.close();
      assert.equal((await stuck).code, 'RUNTIME_CLOSED');
      assert.equal((await queued).code, 'RUNTIME_CLOSED');
      assert.equal(ran, false);
    });

    it('a transaction that finishes within the grace commits', async () => {
      let rt = await fixture.open({ closeGraceMs: 60_000 });
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const outcome = rt.state.transaction(scope, async (tx) => {
        await gate;
        tx.set('k', 'committed');
        return 'ok';
      });
      const closing = rt.close();
      setImmediate(release);
      await closing;
      assert.equal(await outcome, 'ok');
      rt = await fixture.open();
      assert.equal(await rt.state.get(scope, 'k'), 'committed');
    });
  });
});
