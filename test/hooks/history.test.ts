import assert from 'node:assert/strict';
import { Scope, type Runtime } from '../../src/index.js';
import { encodeSeqKey } from '../../src/events/eventLog.js';
import { decodeExecution } from '../../src/hooks/executionRecord.js';
import { HookHistory } from '../../src/hooks/HookHistory.js';
import { storageOf } from '../../src/runtime.js';
import { rejection, RuntimeFixture } from '../helpers.js';
import { OffsetClock, registerScripted } from './hookHelpers.js';

const SECRETS = {
  password: 'hunter2-very-secret',
  openai: 'sk-proj-abcdefghijklmnopqrstuvwxyz123456',
  jwt: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
  aws: 'AKIAIOSFODNN7EXAMPLE',
  github: 'ghp_abcdefghijklmnopqrstuvwxyz0123456789',
  card: '4111 1111 1111 1111',
};

async function take<T>(items: AsyncIterable<T>, count: number): Promise<T[]> {
  const taken: T[] = [];
  for await (const item of items) {
    taken.push(item);
    if (taken.length === count) break;
  }
  return taken;
}

describe('hooks: history, redaction, replay and retention', () => {
  let fixture: RuntimeFixture;
  let rt: Runtime;
  let clock: OffsetClock;

  beforeEach(async () => {
    fixture = new RuntimeFixture('hooks-history');
    clock = new OffsetClock();
    rt = await fixture.open({ clock, hooks: { threads: 2 } });
  });
  afterEach(() => fixture.dispose());

  it('never stores or exports a secret: by field name, by value pattern and by registered path', async () => {
    await registerScripted(rt, 'sees-secrets', { echo: true, follow: { from: 'creds', to: 'copy' } }, { redact: ['value.card'] });
    const value = {
      user: 'ada',
      password: SECRETS.password,
      note: `key ${SECRETS.openai} and token ${SECRETS.jwt}`,
      aws: `id=${SECRETS.aws}`,
      nested: [{ header: `token ${SECRETS.github}` }],
      card: SECRETS.card,
    };
    const { correlationId } = await rt.correlate(() => rt.state.set(Scope.agent('a1'), 'creds', value));
    await rt.hooks.idle();
    assert.deepEqual(await rt.state.get(Scope.agent('a1'), 'creds'), value, 'the state itself is untouched');

    const [execution] = await rt.hooks.history({ hookName: 'sees-secrets' });
    const recorded = JSON.stringify(execution);
    assert.ok(recorded.includes('ada'), 'ordinary data is kept');
    const stored: string[] = [];
    for await (const [key, record] of storageOf(rt).iterate('hookHistory')) stored.push(JSON.stringify(decodeExecution(record, key.toString())));
    const exported = await Promise.all((['text', 'mermaid', 'json', 'html'] as const).map((format) => rt.events.exportTimeline(correlationId, format)));
    const { card, ...everywhere } = SECRETS;
    for (const text of [recorded, ...stored, ...exported]) {
      for (const [name, secret] of Object.entries(everywhere)) assert.ok(!text.includes(secret), `${name} leaked`);
    }
    // A registered path hides the field in the recorded input; the hook's own output may still copy it.
    assert.ok(!JSON.stringify(execution.input).includes(card));
    assert.equal((execution.input as { value: { card: string } }[])[0].value.card, '[REDACTED]');
    assert.ok(exported[2].includes('[REDACTED]'));
  });

  it('an exact replay is equal, is recorded with replayOf, and applies no actions', async () => {
    await registerScripted(rt, 'follow', { follow: { from: 'topic', to: 'summary' } }, { filter: { keyPrefix: 'topic' } });
    await rt.state.set(Scope.agent('a1'), 'topic', { name: 'weather' });
    await rt.hooks.idle();
    const [original] = await rt.hooks.history({ hookName: 'follow' });
    const eventsBefore = (await rt.events.query({})).length;
    const summary = await rt.state.get(Scope.agent('a1'), 'summary');

    const replay = await rt.hooks.replay(original.executionId);
    assert.equal(replay.equal, true);
    assert.deepEqual(replay.diff, []);
    assert.equal(replay.replayed.replayOf, original.executionId);
    assert.deepEqual(replay.replayed.result, original.result);
    assert.deepEqual(await rt.state.get(Scope.agent('a1'), 'summary'), summary);
    assert.equal((await rt.events.query({})).length, eventsBefore, 'the replay wrote nothing');
    const replays = await rt.hooks.history({ replays: 'only' });
    assert.deepEqual(replays.map((execution) => execution.replayOf), [original.executionId]);
    assert.equal((await rt.hooks.history({ replays: 'exclude' })).length, 1);
  });

  it('a replay is recorded with the metadata of the execution it replays, field for field, and replayOf', async () => {
    await registerScripted(rt, 'echo', { echo: true }, { priority: 7 });
    await rt.correlate(() => rt.state.set(Scope.agent('a1'), 'topic', { name: 'weather' }));
    await rt.hooks.idle();
    const [original] = await rt.hooks.history({ hookName: 'echo' });

    const { replayed } = await rt.hooks.replay(original.executionId);
    const stored = await rt.hooks.execution(replayed.executionId);
    assert.deepEqual(stored, replayed, 'what replay() returns is what was recorded');
    const { executionId, startedAt, durationMs, replayOf, ...rest } = stored!;
    const { executionId: _id, startedAt: _at, durationMs: _ms, ...expected } = original;
    assert.deepEqual(rest, expected);
    assert.equal(replayOf, original.executionId);
    assert.ok(executionId > original.executionId && startedAt >= original.startedAt && durationMs >= 0);
    const keys = Object.keys(original).filter((key) => key !== 'priority');
    assert.deepEqual(Object.keys(stored!), [...keys.slice(0, keys.indexOf('durationMs') + 1), 'replayOf', 'priority', ...keys.slice(keys.indexOf('durationMs') + 1)]);
  });

  it('a patched replay answers "what if" with a structured diff', async () => {
    await registerScripted(rt, 'echo', { echo: true });
    await rt.state.set(Scope.agent('a1'), 'topic', { name: 'weather', days: 3 });
    await rt.hooks.idle();
    const [original] = await rt.hooks.history({ hookName: 'echo' });

    const merged = await rt.hooks.replay(original.executionId, { patch: { value: { name: 'rain' } } });
    assert.equal(merged.equal, false);
    assert.deepEqual(merged.diff, [{ op: 'replace', path: '/result/output/echo/0/name', value: 'rain' }]);

    const jsonPatch = await rt.hooks.replay(original.executionId, { patch: [{ op: 'remove', path: '/0/value/days' }] });
    assert.deepEqual(jsonPatch.diff, [{ op: 'remove', path: '/result/output/echo/0/days' }]);

    const bad = await rejection(rt.hooks.replay(original.executionId, { patch: [{ op: 'replace', path: '/9/value', value: 1 }] }));
    assert.equal(bad.code, 'VALUE_INVALID');
    const unknown = await rejection(rt.hooks.replay('0000000000nosuchid'));
    assert.equal(unknown.code, 'HOOK_FAILED');
  });

  it('a replay gets a thread even while a busy outbox keeps every thread taken', async () => {
    await registerScripted(rt, 'quick', {}, { filter: { keyPrefix: 'q' } });
    await rt.state.set(Scope.agent('a1'), 'q', 1);
    await rt.hooks.idle();
    const [original] = await rt.hooks.history({ hookName: 'quick' });
    await registerScripted(rt, 'busy', { sleepMs: 100 }, { filter: { keyPrefix: 'b' }, batchSize: 1, concurrency: 2 });
    for (let i = 0; i < 30; i++) await rt.state.set(Scope.agent('a1'), `b${i}`, i);
    const replay = await rt.hooks.replay(original.executionId);
    assert.equal(replay.equal, true);
    assert.ok(rt.hooks.get('busy')!.pending > 10, `replayed with ${rt.hooks.get('busy')!.pending} busy executions still waiting`);
  });

  it('replayMany replays what a filter selects', async () => {
    await registerScripted(rt, 'many', {}, { batchSize: 1 });
    for (let i = 0; i < 6; i++) await rt.state.set(Scope.agent('a1'), `k${i}`, i);
    await rt.hooks.idle();
    const originals = await rt.hooks.history({ hookName: 'many' });
    const results = await rt.hooks.replayMany({ hookName: 'many' });
    assert.deepEqual(results.map((result) => result.original.executionId), originals.map((execution) => execution.executionId));
    assert.ok(results.every((result) => result.equal));
  });

  it('compresses large inputs', async () => {
    await registerScripted(rt, 'big');
    const text = 'the same long sentence, said again and again. '.repeat(2000);
    // The password makes history keep its own (redacted) copy of the input, rather than read the log.
    await rt.state.set(Scope.agent('a1'), 'essay', { text, password: SECRETS.password });
    await rt.hooks.idle();
    const records: Buffer[] = [];
    for await (const [, record] of storageOf(rt).iterate('hookHistory')) records.push(record);
    assert.equal(records.length, 1);
    assert.equal(decodeExecution(records[0], 'x').inputInLog, false);
    assert.ok(records[0].length < text.length / 10, `stored ${records[0].length} bytes for ${text.length}`);
    const [execution] = await rt.hooks.history();
    assert.deepEqual((execution.input as { value: unknown }[])[0].value, { text, password: '[REDACTED]' });
  });

  describe('inputs read back from the event log', () => {
    /** The raw history records, decoded without reading anything from the log. */
    async function storedRecords(): Promise<ReturnType<typeof decodeExecution>[]> {
      const stored = [];
      for await (const [key, record] of storageOf(rt).iterate('hookHistory')) stored.push(decodeExecution(record, key.toString()));
      return stored;
    }

    it('stores no copy of an input that needed no redaction, and reads it back from the log', async () => {
      await registerScripted(rt, 'plain');
      await rt.state.set(Scope.agent('a1'), 'topic', { text: 'weather in Lisbon', n: 1 });
      await rt.state.set(Scope.agent('a1'), 'user', { password: SECRETS.password });
      await rt.hooks.idle();
      const stored = await storedRecords();
      assert.deepEqual(stored.map((record) => record.inputInLog), [true, false], 'only the input with a secret in it is stored');
      assert.ok(!('input' in stored[0].execution));
      const logged = await rt.events.query({ kinds: ['state.set'] });
      const history = await rt.hooks.history({ hookName: 'plain' });
      assert.deepEqual(history[0].input, [logged[0]], 'the input is the event as the hook received it');
      assert.deepEqual(await rt.hooks.execution(history[0].executionId), history[0]);
      assert.equal((history[1].input as { value: { password: string } }[])[0].value.password, '[REDACTED]');
    });

    it('the event log’s retention copies such inputs into history before it removes their events', async () => {
      await registerScripted(rt, 'plain', {}, { batchSize: 1 });
      for (let i = 0; i < 3; i++) await rt.state.set(Scope.agent('a1'), `k${i}`, { i });
      await rt.hooks.idle();
      const before = await rt.hooks.history({ hookName: 'plain' });
      assert.deepEqual((await storedRecords()).map((record) => record.inputInLog), [true, true, true]);

      const pruned = await rt.events.prune({ maxCount: 1 });
      assert.ok(pruned.removedRecords >= 2, `removed ${pruned.removedRecords}`);
      const remaining = new Set((await rt.events.query({})).map((event) => event.seq));
      const stored = await storedRecords();
      for (const [index, record] of stored.entries()) {
        const seq = Number(record.execution.eventIds[0].split('.')[0]);
        assert.equal(record.inputInLog, remaining.has(seq), `execution ${index}: input in the log only while its event is`);
      }
      assert.deepEqual(await rt.hooks.history({ hookName: 'plain' }), before, 'history reads the same, with the events gone');
      rt = await fixture.reopen(rt, { clock });
      assert.deepEqual(await rt.hooks.history({ hookName: 'plain' }), before, 'and after a restart');
    });

    it('copies the input of an execution that spans several of the removed records once', async () => {
      rt = await fixture.reopen(rt, { clock, hooks: { threads: 2, autoStart: false } });
      await registerScripted(rt, 'plain');
      for (let i = 0; i < 3; i++) await rt.state.set(Scope.agent('a1'), `k${i}`, { i });
      // Delivered after the reopen: one execution takes the three waiting commit records at once.
      rt = await fixture.reopen(rt, { clock, hooks: { threads: 2 } });
      await rt.hooks.idle();
      const before = await rt.hooks.history({ hookName: 'plain' });
      assert.equal(before.length, 1);
      assert.equal(new Set(before[0].eventIds.map((id) => id.split('.')[0])).size, 3);
      const stored = storageOf(rt);
      const seqs = before[0].eventIds.map((id) => Number(id.split('.')[0]));
      assert.equal(await new HookHistory(stored).keepInputsOf(seqs), 1);
      assert.deepEqual((await storedRecords()).map((record) => record.inputInLog), [false]);
      await rt.events.prune({ maxCount: 0 });
      assert.deepEqual(await rt.hooks.history({ hookName: 'plain' }), before);
    });

    it('an execution of events carried inline (redelivered dead letters) keeps its own copy', async () => {
      await registerScripted(rt, 'fails', { fail: 'throw' }, { maxAttempts: 1 });
      await rt.state.set(Scope.agent('a1'), 'k', 1);
      await rt.hooks.idle();
      assert.equal((await rt.hooks.deadLetters()).length, 1);
      await registerScripted(rt, 'fails', {}, { maxAttempts: 1 });
      await rt.hooks.redeliver('fails');
      await rt.hooks.idle();
      const succeeded = (await storedRecords()).filter((record) => record.execution.status === 'succeeded');
      assert.deepEqual(succeeded.map((record) => record.inputInLog), [false]);
    });

    it('a damaged history record is kept, and neither stops the log’s retention nor the runtime opening', async () => {
      await registerScripted(rt, 'plain', {}, { batchSize: 1 });
      for (let i = 0; i < 3; i++) await rt.state.set(Scope.agent('a1'), `k${i}`, { i });
      await rt.hooks.idle();
      const storage = storageOf(rt);
      const [[key, record]] = await take(storage.iterate('hookHistory'), 1);
      const damaged = Buffer.from(record);
      damaged[damaged.length - 1] ^= 0xff;
      await storage.batch([{ type: 'put', sublevel: 'hookHistory', key, value: damaged }]);

      const pruned = await rt.events.prune({ maxCount: 1 });
      assert.ok(pruned.removedRecords >= 2, `removed ${pruned.removedRecords}`);
      assert.deepEqual((await storage.get('hookHistory', key))?.equals(damaged), true, 'kept as it was, for inspection');
      rt = await fixture.reopen(rt, { clock, eventRetention: { maxCount: 1 } });
      assert.equal((await rejection(rt.hooks.execution(key.toString()))).code, 'DATA_CORRUPT');
    });

    it('reads racing the log’s retention see each input, before or after it is copied', async () => {
      await registerScripted(rt, 'plain', {}, { batchSize: 1 });
      for (let i = 0; i < 200; i++) await rt.state.set(Scope.agent('a1'), `k${i}`, { i });
      await rt.hooks.idle();
      const before = await rt.hooks.history({ limit: 1000 });
      let done = false;
      const prune = rt.events.prune({ maxCount: 0 }).finally(() => (done = true));
      let reads = 0;
      while (!done) {
        assert.deepEqual(await rt.hooks.history({ limit: 1000 }), before);
        reads++;
      }
      await prune;
      assert.ok(reads > 0);
      assert.deepEqual((await storedRecords()).filter((record) => record.inputInLog), [], 'every input was copied');
    });

    it('an input whose events left the log by any other way is DATA_CORRUPT, naming the event', async () => {
      await registerScripted(rt, 'plain');
      await rt.state.set(Scope.agent('a1'), 'k', 1);
      await rt.hooks.idle();
      const [execution] = await rt.hooks.history({ hookName: 'plain' });
      const seq = Number(execution.eventIds[0].split('.')[0]);
      await storageOf(rt).batch([{ type: 'del', sublevel: 'events', key: encodeSeqKey(seq) }]);
      const error = await rejection(rt.hooks.history({ hookName: 'plain' }));
      assert.equal(error.code, 'DATA_CORRUPT');
      assert.match(error.message, new RegExp(`hook execution ${execution.executionId} cannot be read: its input is event ${execution.eventIds[0].replace('.', '\\.')}`));
    });
  });

  it('retention removes by age, count and bytes, and priority keeps a record longer', async () => {
    await registerScripted(rt, 'low', {}, { batchSize: 1, priority: 0 });
    await registerScripted(rt, 'high', {}, { batchSize: 1, priority: 2, filter: { keyPrefix: 'h' } });
    for (let i = 0; i < 4; i++) await rt.state.set(Scope.agent('a1'), `h${i}`, i);
    await rt.hooks.idle();
    const count = async (hookName: string) => (await rt.hooks.history({ hookName, limit: 1000 })).length;
    assert.deepEqual([await count('low'), await count('high')], [4, 4]);

    clock.offset += 2 * 60_000;
    let pruned = await rt.hooks.prune({ maxAgeMs: 60_000 });
    assert.equal(pruned.removed, 4, 'priority 0 is kept for maxAgeMs');
    assert.deepEqual([await count('low'), await count('high')], [0, 4], 'priority 2 is kept for 3 × maxAgeMs');

    for (let i = 0; i < 4; i++) await rt.state.set(Scope.agent('a1'), `x${i}`, i);
    await rt.hooks.idle();
    pruned = await rt.hooks.prune({ maxAgeMs: 60_000, maxCount: 5 });
    assert.equal(pruned.kept, 5);
    assert.deepEqual([await count('low'), await count('high')], [1, 4], 'the lowest priority goes first, oldest first');
    const [kept] = await rt.hooks.history({ hookName: 'low' });
    assert.deepEqual(kept.eventIds, (await rt.events.query({ kinds: ['state.set'] })).slice(-1).map((event) => event.id));

    pruned = await rt.hooks.prune({ maxAgeMs: 60_000, maxBytes: 1 });
    assert.equal(pruned.kept, 0);
    assert.equal(await count('high'), 0);
    assert.deepEqual(await rt.hooks.history({ eventId: kept.eventIds[0] }), [], 'index entries go with their records');
  });

  it('applies retention on its own every pruneEvery executions', async () => {
    rt = await fixture.reopen(rt, { clock, hooks: { threads: 2, history: { maxCount: 3, pruneEvery: 5 } } });
    await registerScripted(rt, 'auto', {}, { batchSize: 1 });
    for (let i = 0; i < 10; i++) await rt.state.set(Scope.agent('a1'), `k${i}`, i);
    await rt.hooks.idle();
    rt = await fixture.reopen(rt, { clock });
    const left = (await rt.hooks.history({ limit: 1000 })).length;
    assert.ok(left <= 3 + 4, `pruned down to ${left}`);
  });
});
