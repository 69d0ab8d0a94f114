import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { createRuntime, Scope } from '../../src/index.js';
import { encodeStateKey } from '../../src/state/keyCodec.js';
import { rejection, RuntimeFixture } from '../helpers.js';

/** Rewrites one stored record with `mutate` applied, through raw LevelDB, while no runtime is open. */
async function tamper(dataDir: string, sublevel: string, key: Buffer, mutate: (bytes: Buffer) => Buffer): Promise<void> {
  const db = new ClassicLevel<Buffer, Buffer>(join(dataDir, 'db'), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  const sub = db.sublevel<Buffer, Buffer>(sublevel, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  const bytes = await sub.get(key);
  assert.ok(bytes, 'the record to tamper with exists');
  await sub.put(key, mutate(Buffer.from(bytes)));
  await db.close();
}

function flipByte(at: number): (bytes: Buffer) => Buffer {
  return (bytes) => {
    bytes[at < 0 ? bytes.length + at : at] ^= 0x01;
    return bytes;
  };
}

describe('corrupted records', () => {
  let fixture: RuntimeFixture;
  beforeEach(() => {
    fixture = new RuntimeFixture('corrupt');
  });
  afterEach(() => fixture.dispose());
  const scope = Scope.agent('a1');

  it('a value whose bytes were flipped is reported as DATA_CORRUPT and never returned', async () => {
    const rt = await fixture.open();
    await rt.state.set(scope, 'topic', { name: 'weather' });
    await rt.state.set(scope, 'other', 'fine');
    await rt.close();
    await tamper(fixture.dir, 'state', encodeStateKey(scope, 'topic'), flipByte(-3));

    const reopened = await fixture.open();
    for (let attempt = 0; attempt < 2; attempt++) {
      const error = await rejection(reopened.state.get(scope, 'topic'));
      assert.equal(error.code, 'DATA_CORRUPT', 'and it is not cached as a good value on the second read either');
      assert.equal(error.details?.scope, 'agent:a1');
      assert.equal(error.details?.key, 'topic');
      assert.match(error.message, /checksum/);
    }
    assert.equal(await reopened.state.get(scope, 'other'), 'fine', 'other keys are unaffected');
  });

  it('a unit that reads a corrupt record is refused with DATA_CORRUPT, and entries never return it', async () => {
    const rt = await fixture.open();
    await rt.state.set(scope, 'topic', { name: 'weather' });
    await rt.close();
    await tamper(fixture.dir, 'state', encodeStateKey(scope, 'topic'), flipByte(-3));
    const reopened = await fixture.open();
    let built = false;
    const unit = { reads: ['topic'], build: () => ((built = true), { writes: [{ key: 'topic', value: 'overwritten' }] }) };
    assert.equal((await rejection(reopened.state.commitUnit(scope, unit))).code, 'DATA_CORRUPT');
    assert.equal(built, false, 'the plan never saw the bad bytes');
    assert.equal((await rejection(reopened.state.entries(scope))).code, 'DATA_CORRUPT');
    assert.equal((await rejection(reopened.state.get(scope, 'topic'))).code, 'DATA_CORRUPT');
  });

  it('a flip in the record header (its sequence or timestamp) is caught too', async () => {
    const rt = await fixture.open();
    await rt.state.set(scope, 'topic', 'x');
    await rt.close();
    await tamper(fixture.dir, 'state', encodeStateKey(scope, 'topic'), flipByte(8));
    const reopened = await fixture.open();
    assert.equal((await rejection(reopened.state.get(scope, 'topic'))).code, 'DATA_CORRUPT');
  });

  it('a truncated record is DATA_CORRUPT', async () => {
    const rt = await fixture.open();
    await rt.state.set(scope, 'topic', 'x');
    await rt.close();
    await tamper(fixture.dir, 'state', encodeStateKey(scope, 'topic'), (bytes) => bytes.subarray(0, 7));
    const reopened = await fixture.open();
    assert.equal((await rejection(reopened.state.get(scope, 'topic'))).code, 'DATA_CORRUPT');
  });

  it('a corrupt value can be deleted or overwritten, which repairs the key', async () => {
    const rt = await fixture.open();
    await rt.state.set(scope, 'a', 1);
    await rt.state.set(scope, 'b', 2);
    await rt.close();
    await tamper(fixture.dir, 'state', encodeStateKey(scope, 'a'), flipByte(-1));
    await tamper(fixture.dir, 'state', encodeStateKey(scope, 'b'), flipByte(-1));
    const reopened = await fixture.open();
    assert.equal(await reopened.state.delete(scope, 'a'), true);
    assert.equal(await reopened.state.get(scope, 'a'), undefined);
    await reopened.state.set(scope, 'b', 'repaired');
    assert.equal(await reopened.state.get(scope, 'b'), 'repaired');
  });

  it('a corrupt value read inside a transaction rejects the transaction and writes nothing', async () => {
    const rt = await fixture.open();
    await rt.state.set(scope, 'a', 1);
    await rt.close();
    await tamper(fixture.dir, 'state', encodeStateKey(scope, 'a'), flipByte(-1));
    const reopened = await fixture.open();
    const error = await rejection(
      reopened.state.transaction(scope, async (tx) => {
        tx.set('b', 1);
        await tx.get('a');
      }),
    );
    assert.equal(error.code, 'DATA_CORRUPT');
    assert.equal(await reopened.state.get(scope, 'b'), undefined);
  });

  it('a corrupt store-format record stops the runtime from opening with DATA_CORRUPT, and releases the lock', async () => {
    const rt = await fixture.open();
    await rt.close();
    await tamper(fixture.dir, 'meta', Buffer.from('format'), flipByte(-2));
    const error = await rejection(createRuntime({ dataDir: fixture.dir }));
    assert.equal(error.code, 'DATA_CORRUPT');
    // The failed open closed the store: a raw open of the same directory succeeds.
    const db = new ClassicLevel(join(fixture.dir, 'db'));
    await db.open();
    await db.close();
  });
});
