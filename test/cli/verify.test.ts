import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { createRuntime, repairStore, Scope, verifyStore } from '../../src/index.js';
import { encodeSeqKey } from '../../src/events/eventLog.js';
import { encodeStateKey } from '../../src/state/keyCodec.js';
import { rejection, tempDir } from '../helpers.js';
import { assertBuilt, llmstate } from './runCli.js';

const scope = Scope.agent('a1');

async function writeStore(dataDir: string, count: number): Promise<void> {
  const rt = await createRuntime({ dataDir });
  for (let i = 0; i < count; i++) await rt.state.set(scope, `k${i}`, { i, text: 'x'.repeat(40) });
  await rt.close();
}

function flipLogBit(dataDir: string, at: number): void {
  const db = join(dataDir, 'db');
  const log = readdirSync(db).map((name) => join(db, name)).find((path) => path.endsWith('.log') && readFileSync(path).length > at)!;
  const bytes = readFileSync(log);
  bytes[at] ^= 0x04;
  writeFileSync(log, bytes);
}

/** Changes the store behind llmstate's back, as damage on disk would, through raw LevelDB. */
async function rawLevel(dataDir: string, change: (db: ClassicLevel<Buffer, Buffer>) => Promise<void>): Promise<void> {
  const db = new ClassicLevel<Buffer, Buffer>(join(dataDir, 'db'), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  await change(db);
  await db.close();
}

describe('llmstate verify and repair', function () {
  this.timeout(120_000);
  before(assertBuilt);
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir('verify')));
  afterEach(() => cleanup());

  it('verify passes a sound store, exit 0, with a summary', async () => {
    await writeStore(dir, 50);
    const result = await llmstate(['--data-dir', dir, 'verify']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /logs +1 write-ahead log and the manifest, intact \(closed cleanly\)/);
    assert.match(result.stdout, /events +commits 1 to 50/);
    assert.match(result.stdout, /result +ok: nothing is damaged/);
    const report = await verifyStore({ dataDir: dir });
    assert.equal(report.ok, true);
    assert.equal(report.bySublevel.state, 50);
    assert.equal(report.bySublevel.events, 50);
  });

  it('a flipped bit in a log: verify exits 1 without opening, repair keeps what survives and puts the loss on record', async () => {
    await writeStore(dir, 300);
    flipLogBit(dir, 9_000);
    const verified = await llmstate(['--data-dir', dir, 'verify']);
    assert.equal(verified.code, 1);
    assert.match(verified.stdout, /damaged +log \d+\.log: \d+ bytes at offset \d+: checksum mismatch/);
    assert.match(verified.stdout, /result +DAMAGED/);
    assert.equal((await rejection(createRuntime({ dataDir: dir }))).code, 'DATA_CORRUPT');

    const repaired = await llmstate(['--data-dir', dir, 'repair']);
    assert.equal(repaired.code, 0, repaired.stdout + repaired.stderr);
    const missing = /missing +commits (\d+)-(\d+): the writes they held may be lost/.exec(repaired.stdout);
    assert.ok(missing, repaired.stdout);
    assert.match(repaired.stdout, /the damaged logs are copied in .*damaged/);
    const [from, to] = [Number(missing[1]), Number(missing[2])];
    assert.ok(from >= 1 && to >= from && to < 300);

    // The store opens again; the writes of the missing commits are gone, and the rest is there.
    const rt = await createRuntime({ dataDir: dir });
    assert.equal(await rt.state.get(scope, `k${from - 1}`), undefined, 'commit n wrote k(n-1)');
    assert.deepEqual(await rt.state.get(scope, `k${to}`), { i: to, text: 'x'.repeat(40) });
    await rt.close();
    const again = await llmstate(['--data-dir', dir, 'verify']);
    assert.equal(again.code, 0, again.stdout);
    assert.match(again.stdout, new RegExp(`repaired .*commits missing: ${from}-${to}`));
  });

  it('a state record whose checksum fails: verify names it, exit 1', async () => {
    await writeStore(dir, 20);
    await rawLevel(dir, async (db) => {
      const state = db.sublevel<Buffer, Buffer>('state', { keyEncoding: 'buffer', valueEncoding: 'buffer' });
      const key = encodeStateKey(scope, 'k7');
      const bytes = Buffer.from((await state.get(key))!);
      bytes[bytes.length - 2] ^= 0x01;
      await state.put(key, bytes);
    });
    const result = await llmstate(['--data-dir', dir, 'verify', '--json']);
    assert.equal(result.code, 1);
    const report = JSON.parse(result.stdout);
    assert.equal(report.ok, false);
    assert.deepEqual(
      report.problems.map((problem: { sublevel: string; key: string; kind: string }) => [problem.sublevel, problem.key, problem.kind]),
      [['state', 'agent/a1/k7', 'record']],
    );
    assert.match(report.problems[0].message, /checksum/);
  });

  it('commit records missing from the middle or the start of the event log, and an index entry left pointing at one', async () => {
    await writeStore(dir, 20);
    await rawLevel(dir, async (db) => {
      const events = db.sublevel<Buffer, Buffer>('events', { keyEncoding: 'buffer', valueEncoding: 'buffer' });
      await events.del(encodeSeqKey(1));
      await events.del(encodeSeqKey(8));
      await events.del(encodeSeqKey(9));
      const byCorrelation = db.sublevel<Buffer, Buffer>('eventsByCorrelation', { keyEncoding: 'buffer', valueEncoding: 'buffer' });
      const key = Buffer.concat([Buffer.from('c1'), Buffer.from([0]), encodeSeqKey(9)]);
      await byCorrelation.put(key, Buffer.alloc(0));
    });
    const report = await verifyStore({ dataDir: dir });
    assert.equal(report.ok, false);
    assert.deepEqual(report.events.gaps, [{ from: 1, to: 1 }, { from: 8, to: 9 }]);
    const kinds = report.problems.map((problem) => `${problem.sublevel}:${problem.kind}:${problem.key}`).sort();
    assert.equal(kinds.length, 3, kinds.join('\n'));
    assert.ok(kinds.includes('events:sequence:1..1'));
    assert.ok(kinds.includes('events:sequence:8..9'));
    assert.ok(kinds.some((text) => text.startsWith('eventsByCorrelation:index:')));
  });

  it('a flipped bit in a table: verify names the table and block without opening the store, and repair refuses', async () => {
    await writeStore(dir, 300);
    // Opening replays the log into a table; the next close leaves the values only there.
    await (await createRuntime({ dataDir: dir })).close();
    const db = join(dir, 'db');
    const table = readdirSync(db).find((name) => name.endsWith('.ldb'))!;
    const bytes = readFileSync(join(db, table));
    bytes[Math.floor(bytes.length / 2)] ^= 0x01;
    writeFileSync(join(db, table), bytes);
    const result = await llmstate(['--data-dir', dir, 'verify']);
    assert.equal(result.code, 1);
    assert.match(result.stdout, new RegExp(`damaged +table ${table}: block at offset \\d+: data block: checksum mismatch`));
    assert.match(result.stdout, /skipped +a table is damaged/);
    const repair = await llmstate(['--data-dir', dir, 'repair']);
    assert.equal(repair.code, 1);
    assert.match(repair.stderr, /error\[DATA_CORRUPT\]: .*damaged tables .*Restore a backup/);
    assert.deepEqual(readFileSync(join(db, table)), bytes, 'nothing was changed');
  });

  it('a damaged CURRENT file is DATA_CORRUPT at open; repair points it at the only manifest again', async () => {
    await writeStore(dir, 10);
    writeFileSync(join(dir, 'db', 'CURRENT'), 'MANIFEST-999999\n');
    const error = await rejection(createRuntime({ dataDir: dir }));
    assert.equal(error.code, 'DATA_CORRUPT');
    assert.match(error.message, /CURRENT names MANIFEST-999999, which is not there/);
    const repaired = await repairStore({ dataDir: dir });
    assert.equal(repaired.ok, true);
    const rt = await createRuntime({ dataDir: dir });
    assert.deepEqual(await rt.state.get(scope, 'k9'), { i: 9, text: 'x'.repeat(40) });
    await rt.close();
  });

  it('verify refuses a LevelDB file that is a FIFO at once, as opening does, rather than hang on it', async () => {
    await writeStore(dir, 5);
    const db = join(dir, 'db');
    const log = readdirSync(db).find((name) => name.endsWith('.log'))!;
    rmSync(join(db, log));
    execFileSync('mkfifo', [join(db, log)]);
    const error = await rejection(verifyStore({ dataDir: dir }));
    assert.equal(error.code, 'STORAGE_FAILED');
    assert.match(error.message, /FIFO|not a regular file/i);
  });

  it('verify of a directory without a store is error[STORAGE_FAILED] and creates nothing', async () => {
    const missing = join(dir, 'nothing-here');
    const result = await llmstate(['--data-dir', missing, 'verify']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /error\[STORAGE_FAILED\]: There is no llmstate store in/);
    assert.equal(existsSync(missing), false);
    assert.equal((await rejection(repairStore({ dataDir: missing }))).code, 'STORAGE_FAILED');
  });
});
