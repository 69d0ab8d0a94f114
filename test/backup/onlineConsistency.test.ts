import assert from 'node:assert/strict';
import { Scope, type Runtime } from '../../src/index.js';
import { storageOf } from '../../src/runtime.js';
import { encodeStateKey } from '../../src/state/keyCodec.js';
import { decodeRecord } from '../../src/storage/recordEnvelope.js';
import { RuntimeFixture } from '../helpers.js';

const WRITERS = 64;
/** Enough data that a backup takes long enough for every writer to write during it. */
const PREFILL_SCOPES = 40;
const PREFILL_KEYS = 500;

interface Acknowledged {
  scope: Scope;
  key: string;
  value: { writer: number; i: number; text: string };
  seq: number;
}

/** Writes distinct keys until `stop()` says so; each acknowledged write is recorded with the sequence it got. */
async function writer(rt: Runtime, n: number, stop: () => boolean, acknowledged: Acknowledged[], label: string): Promise<number> {
  const scope = Scope.agent(`writer${n}`);
  let i = 0;
  while (!stop()) {
    const key = `${label}-${String(i).padStart(5, '0')}`;
    const value = { writer: n, i, text: `writer ${n} wrote ${key}` };
    await rt.state.set(scope, key, value);
    // Keys are never written twice, so the stored envelope's sequence is this write's.
    const stored = await storageOf(rt).get('state', encodeStateKey(scope, key));
    acknowledged.push({ scope, key, value, seq: decodeRecord(stored!, { record: 'state value' }).seq });
    i++;
  }
  return i;
}

async function prefill(rt: Runtime): Promise<void> {
  const text = 'a message of a conversation, with a tool result: '.repeat(3);
  for (let s = 0; s < PREFILL_SCOPES; s++) {
    await rt.state.transaction(Scope.session(`s${s}`), (tx) => {
      for (let k = 0; k < PREFILL_KEYS; k++) tx.set(`m${k}`, { role: k % 2 === 0 ? 'user' : 'assistant', k, text });
    });
  }
}

describe('a backup while 64 writers write', function () {
  this.timeout(300_000);
  let fixture: RuntimeFixture;
  let target: RuntimeFixture;
  let rt: Runtime;

  beforeEach(async () => {
    fixture = new RuntimeFixture('backup-props-online');
    target = new RuntimeFixture('backup-props-online-target');
    rt = await fixture.open();
    await prefill(rt);
  });
  afterEach(async () => {
    await fixture.dispose();
    await target.dispose();
  });

  it('holds every write acknowledged up to its sequence and none after, while writes go on', async () => {
    // Without a backup: the reference throughput, over about as long as a backup takes.
    const started = performance.now();
    const timed = await rt.backups.create({ compression: 'brotli' });
    const backupMs = performance.now() - started;
    const windowMs = Math.max(backupMs, 300);
    const reference: Acknowledged[] = [];
    const until = performance.now() + windowMs;
    await Promise.all(Array.from({ length: WRITERS }, (_, n) => writer(rt, n, () => performance.now() >= until, reference, 'reference')));
    const referenceRate = reference.length / (windowMs / 1000);

    // During a backup.
    const acknowledged: Acknowledged[] = [];
    let done = false;
    const writers = Array.from({ length: WRITERS }, (_, n) => writer(rt, n, () => done, acknowledged, 'online'));
    // Let every writer get going, so that writes are acknowledged before the snapshot as well as after.
    while (new Set(acknowledged.map((write) => write.scope.toString())).size < WRITERS) await new Promise((resolve) => setImmediate(resolve));
    const backupStarted = performance.now();
    const countAtStart = acknowledged.length;
    const backup = await rt.backups.create();
    const duringMs = performance.now() - backupStarted;
    const duringCount = acknowledged.length - countAtStart;
    // A few more writes after the backup ended, by every writer.
    const countAtEnd = acknowledged.length;
    while (acknowledged.length < countAtEnd + WRITERS * 2) await new Promise((resolve) => setImmediate(resolve));
    done = true;
    await Promise.all(writers);
    const duringRate = duringCount / (duringMs / 1000);
    console.log(
      `      write throughput: ${Math.round(referenceRate)}/s without a backup, ${Math.round(duringRate)}/s during one ` +
        `(${(duringRate / referenceRate).toFixed(2)}×); a backup took ${Math.round(backupMs)} ms alone (${timed.records} records, ${Math.round(timed.bytes / 1024)} KiB) ` +
        `and ${Math.round(duringMs)} ms during the writes (${backup.records} records)`,
    );

    const before = acknowledged.filter((write) => write.seq <= backup.seq);
    const after = acknowledged.filter((write) => write.seq > backup.seq);
    assert.ok(before.length >= WRITERS && after.length >= WRITERS, `writes on both sides of the backup: ${before.length} before, ${after.length} after`);
    assert.ok(duringCount > 0, 'writes were acknowledged while the backup ran');

    const restored = await target.open();
    const result = await restored.backups.restore({ from: backup.file });
    assert.equal(result.restoredSeq, backup.seq);
    for (const write of before) assert.deepEqual(await restored.state.get(write.scope, write.key), write.value, `${write.scope}/${write.key} (seq ${write.seq}) is in the backup`);
    for (const write of after) assert.equal(await restored.state.get(write.scope, write.key), undefined, `${write.scope}/${write.key} (seq ${write.seq}) is not in the backup`);
    // And nothing else: each writer's online keys in the backup are exactly those acknowledged up to its sequence.
    for (let n = 0; n < WRITERS; n++) {
      const scope = Scope.agent(`writer${n}`);
      const expected = before.filter((write) => write.scope.toString() === scope.toString()).map((write) => write.key).sort();
      assert.deepEqual(await restored.state.listKeys(scope, { prefix: 'online-' }), expected, `${scope}`);
    }
    await restored.close();
  });
});
