import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { Scope, type Runtime } from '../../src/index.js';
import type { BackupDescriptor } from '../../src/backup/Backups.js';
import { storageOf } from '../../src/runtime.js';
import { SUBLEVELS } from '../../src/storage/index.js';
import { rejection, RuntimeFixture } from '../helpers.js';

const KEY = Buffer.alloc(32, 0x3c);
const OTHER_KEY = Buffer.alloc(32, 0xc3);

/** The header, body and trailer of a backup file, as byte ranges: magic line, JSON header line, frames, trailer. */
function regionsOf(bytes: Buffer): Record<'header' | 'body' | 'trailer', { start: number; end: number }> {
  const headerStart = bytes.indexOf(0x0a) + 1;
  const bodyStart = bytes.indexOf(0x0a, headerStart) + 1;
  const trailerStart = bytes.lastIndexOf(Buffer.from('LLMSTATE-END'));
  assert.ok(headerStart > 0 && bodyStart > headerStart && trailerStart > bodyStart, 'the file has a header, a body and a trailer');
  return { header: { start: headerStart, end: bodyStart }, body: { start: bodyStart, end: trailerStart }, trailer: { start: trailerStart, end: bytes.length } };
}

/** Three offsets of a range: its first byte, its middle and its last. */
function offsetsIn({ start, end }: { start: number; end: number }): number[] {
  return [start, Math.floor((start + end) / 2), end - 1];
}

/** Every raw record of the store, so that "untouched" means byte for byte. */
async function snapshotOf(rt: Runtime): Promise<string[]> {
  const all: string[] = [];
  for (const sublevel of SUBLEVELS) for await (const [key, value] of storageOf(rt).iterate(sublevel)) all.push(`${sublevel} ${key.toString('hex')} ${value.toString('hex')}`);
  return all;
}

async function fill(rt: Runtime, round: number): Promise<void> {
  for (let i = 0; i < 40; i++) await rt.state.set(Scope.agent(`a${i % 4}`), `note${i}`, { round, text: `round ${round}, note ${i}: ${'lorem ipsum '.repeat(4)}` });
}

describe('damaged backups, through rt.backups', function () {
  this.timeout(120_000);
  const saved = process.env.LLMSTATE_BACKUP_KEY;
  let fixture: RuntimeFixture;
  let rt: Runtime;

  before(() => delete process.env.LLMSTATE_BACKUP_KEY);
  after(() => {
    if (saved !== undefined) process.env.LLMSTATE_BACKUP_KEY = saved;
  });

  beforeEach(async () => {
    fixture = new RuntimeFixture('backup-props-tamper');
    rt = await fixture.open();
    await fill(rt, 1);
  });
  afterEach(() => fixture.dispose());

  /** Checks that the damaged `backup` is refused by verify and by every kind of restore, and the store is left as it was. */
  async function refused(backup: BackupDescriptor, code: 'BACKUP_CORRUPT' | 'BACKUP_NOT_FOUND', names: string, what: string, key?: Buffer): Promise<string[]> {
    const before = await snapshotOf(rt);
    const backups = (await rt.backups.list()).length;
    const messages: string[] = [];
    const attempts = [
      ['verify', () => rt.backups.verify(backup.id, key === undefined ? {} : { key })],
      ['restore', () => rt.backups.restore({ id: backup.id, ...(key === undefined ? {} : { key }) })],
      ['restore of a scope', () => rt.backups.restore({ id: backup.id, scopes: [Scope.agent('a1')], ...(key === undefined ? {} : { key }) })],
      ['restore from the file', () => rt.backups.restore({ from: backup.file, ...(key === undefined ? {} : { key }) })],
    ] as const;
    for (const [label, attempt] of attempts) {
      const error = await rejection(attempt());
      assert.equal(error.code, code, `${what}, ${label}: ${error.message}`);
      assert.ok(error.message.includes(names), `${what}, ${label}: the message names ${names}: ${error.message}`);
      messages.push(error.message);
    }
    assert.deepEqual(await snapshotOf(rt), before, `${what}: the store is untouched`);
    assert.ok((await rt.backups.list()).length <= backups, `${what}: no safety backup was taken`);
    await rt.state.set(Scope.agent('a1'), 'still writable', what);
    assert.equal(await rt.state.get(Scope.agent('a1'), 'still writable'), what);
    return messages;
  }

  for (const encrypted of [false, true]) {
    const label = encrypted ? 'an encrypted' : 'a plain';
    const key = encrypted ? KEY : undefined;

    it(`a flipped byte in the header, the body or the trailer of ${label} backup fails verify and restore with BACKUP_CORRUPT naming the file, and the store is untouched`, async () => {
      const backup = await rt.backups.create(encrypted ? { key: KEY } : {});
      assert.equal(backup.encrypted, encrypted);
      await fill(rt, 2);
      const original = await readFile(backup.file);
      const regions = regionsOf(original);
      for (const [region, range] of Object.entries(regions)) {
        for (const offset of offsetsIn(range)) {
          const bytes = Buffer.from(original);
          bytes[offset] ^= 0x01;
          await writeFile(backup.file, bytes);
          await refused(backup, 'BACKUP_CORRUPT', backup.file, `${region} byte ${offset}`, key);
        }
      }
      await writeFile(backup.file, original);
      assert.equal((await rt.backups.verify(backup.id, key === undefined ? {} : { key })).id, backup.id);
    });

    it(`${label} backup truncated, or one with bytes appended, fails with BACKUP_CORRUPT naming the file`, async () => {
      const backup = await rt.backups.create(encrypted ? { key: KEY } : {});
      const original = await readFile(backup.file);
      await writeFile(backup.file, original.subarray(0, original.length - 7));
      await refused(backup, 'BACKUP_CORRUPT', backup.file, 'truncated', key);
      await writeFile(backup.file, Buffer.concat([original, Buffer.from('tail')]));
      await refused(backup, 'BACKUP_CORRUPT', backup.file, 'appended', key);
    });
  }

  it('damage in the parent of an increment fails the increment, naming the parent file', async () => {
    const full = await rt.backups.create();
    await fill(rt, 2);
    const increment = await rt.backups.create({ incremental: true });
    assert.equal(increment.parentId, full.id);
    const original = await readFile(full.file);
    const bytes = Buffer.from(original);
    const { body } = regionsOf(bytes);
    bytes[Math.floor((body.start + body.end) / 2)] ^= 0x10;
    await writeFile(full.file, bytes);
    const before = await snapshotOf(rt);
    const error = await rejection(rt.backups.verify(increment.id));
    assert.equal(error.code, 'BACKUP_CORRUPT');
    assert.ok(error.message.includes(full.file), error.message);
    const restoring = await rejection(rt.backups.restore({ id: increment.id }));
    assert.equal(restoring.code, 'BACKUP_CORRUPT');
    assert.ok(restoring.message.includes(full.file), restoring.message);
    assert.deepEqual(await snapshotOf(rt), before);
  });

  it('a missing parent fails with BACKUP_NOT_FOUND naming it', async () => {
    const full = await rt.backups.create();
    await fill(rt, 2);
    const increment = await rt.backups.create({ incremental: true });
    await rm(full.file);
    await refused(increment, 'BACKUP_NOT_FOUND', full.id, 'missing parent');
    const error = await rejection(rt.backups.verify(increment.id));
    assert.equal(error.details?.id, full.id);
  });

  it('an encrypted backup with the wrong key fails with BACKUP_CORRUPT saying the key does not match', async () => {
    const backup = await rt.backups.create({ key: KEY });
    await fill(rt, 2);
    const messages = await refused(backup, 'BACKUP_CORRUPT', backup.file, 'wrong key', OTHER_KEY);
    for (const message of messages) assert.match(message, /does not match/);
    const passphrase = await rejection(rt.backups.verify(backup.id, { key: 'not the key' }));
    assert.equal(passphrase.code, 'BACKUP_CORRUPT');
    assert.match(passphrase.message, /does not match/);
  });

  it('an encrypted backup without a key fails with BACKUP_KEY_REQUIRED, and the store is untouched', async () => {
    const backup = await rt.backups.create({ key: 'a passphrase for the environment' });
    await fill(rt, 2);
    const before = await snapshotOf(rt);
    for (const attempt of [() => rt.backups.verify(backup.id), () => rt.backups.restore({ id: backup.id }), () => rt.backups.restore({ from: backup.file })]) {
      const error = await rejection(attempt());
      assert.equal(error.code, 'BACKUP_KEY_REQUIRED', error.message);
    }
    assert.deepEqual(await snapshotOf(rt), before);
    // The passphrase from the environment works in its place.
    process.env.LLMSTATE_BACKUP_KEY = 'a passphrase for the environment';
    try {
      assert.deepEqual((await rt.backups.verify(backup.id)).chain.map(({ id }) => id), [backup.id]);
    } finally {
      delete process.env.LLMSTATE_BACKUP_KEY;
    }
  });
});
