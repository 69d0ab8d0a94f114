import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { verifyStore, type DeadLetter } from '../../src/index.js';
import { decodeRecord } from '../../src/storage/recordEnvelope.js';
import { chatMachine } from '../fixtures/chatMachine.js';
import { rejection, RuntimeFixture } from '../helpers.js';

const DEAD_LETTER_PREFIX = Buffer.from('dead\x00', 'utf8');

interface RawNamespace {
  iterator(): AsyncIterable<[Buffer, Buffer]>;
  put(key: Buffer, value: Buffer): Promise<void>;
}

/** Reads or changes the `agents` namespace behind llmstate's back, as damage on disk would, while no runtime is open. */
async function withAgentsNamespace<T>(dataDir: string, use: (agents: RawNamespace) => Promise<T>): Promise<T> {
  const db = new ClassicLevel<Buffer, Buffer>(join(dataDir, 'db'), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  try {
    return await use(db.sublevel<Buffer, Buffer>('agents', { keyEncoding: 'buffer', valueEncoding: 'buffer' }));
  } finally {
    await db.close();
  }
}

/** The stored dead letters, key and bytes, in key order. */
function storedLetters(dataDir: string): Promise<[Buffer, Buffer][]> {
  return withAgentsNamespace(dataDir, async (agents) => {
    const letters: [Buffer, Buffer][] = [];
    for await (const [key, value] of agents.iterator()) {
      if (key.subarray(0, DEAD_LETTER_PREFIX.length).equals(DEAD_LETTER_PREFIX)) letters.push([key, value]);
    }
    return letters;
  });
}

function putRaw(dataDir: string, key: Buffer, value: Buffer): Promise<void> {
  return withAgentsNamespace(dataDir, (agents) => agents.put(key, value));
}

describe('stored agent dead letters', () => {
  let fixture: RuntimeFixture;
  beforeEach(() => {
    fixture = new RuntimeFixture('dead-letters');
  });
  afterEach(() => fixture.dispose());

  /** Crashes agent a1 with one message, `text`, and closes the runtime: one dead letter on disk. */
  async function deadLetterOnDisk(text: string): Promise<void> {
    const rt = await fixture.open();
    const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine: chatMachine() });
    rt.faults.crashActor('a1');
    assert.equal((await rejection(agent.send({ type: 'SAY', text }))).code, 'ACTOR_CRASHED');
    await rt.close();
  }

  it('are written in the record envelope, with a checksum, and read back whole after a reopen', async () => {
    await deadLetterOnDisk('doomed');
    const stored = await storedLetters(fixture.dir);
    assert.equal(stored.length, 1);
    const [, bytes] = stored[0];
    const { payload, timestamp } = decodeRecord(bytes);
    const written = JSON.parse(payload.toString('utf8')) as DeadLetter;
    assert.equal(written.agentId, 'a1');
    assert.deepEqual(written.event, { type: 'SAY', text: 'doomed' });
    assert.equal(timestamp, written.at, 'the envelope carries the time the letter was written');

    const rt = await fixture.open();
    const letters = await rt.supervisors.deadLetters({ agentId: 'a1' });
    assert.deepEqual(letters, [written]);
    assert.deepEqual(JSON.parse(JSON.stringify(letters)), letters, 'a letter is plain JSON data');
    assert.deepEqual(await rt.agents.deadLetters(), letters);
  });

  it('a letter with a flipped byte is DATA_CORRUPT when read, never a SyntaxError or a wrong letter', async () => {
    await deadLetterOnDisk('doomed');
    for (const at of [-3, 2, 8]) {
      const [[key, bytes]] = await storedLetters(fixture.dir);
      const damaged = Buffer.from(bytes);
      damaged[at < 0 ? damaged.length + at : at] ^= 0x01;
      await putRaw(fixture.dir, key, damaged);

      const rt = await fixture.open();
      for (const read of [() => rt.supervisors.deadLetters(), () => rt.agents.deadLetters({ agentId: 'a1' })]) {
        const error = await rejection(read());
        assert.equal(error.code, 'DATA_CORRUPT', `byte ${at}: ${error.message}`);
        assert.match(error.message, /^A stored record \(agent a1, dead letter [^)]+\) is corrupt: .+\. It was not returned$/);
        assert.equal(error.details?.agent, 'a1');
      }
      await rt.close();
      await putRaw(fixture.dir, key, bytes);
    }
  });

  it('a letter written before letters had an envelope (bare JSON) is still read', async () => {
    await deadLetterOnDisk('doomed');
    const [[key]] = await storedLetters(fixture.dir);
    const legacy: DeadLetter = { agentId: 'a1', event: { type: 'SAY', text: 'older' }, error: 'it crashed', crashes: 2, poison: false, at: 1_700_000_000_000 };
    const legacyKey = Buffer.from(key.toString('utf8').replace(/\x00[^\x00]+$/, '\x00older'), 'utf8');
    await putRaw(fixture.dir, legacyKey, Buffer.from(JSON.stringify(legacy), 'utf8'));

    const rt = await fixture.open();
    const letters = await rt.supervisors.deadLetters({ agentId: 'a1' });
    assert.deepEqual(
      letters.map((letter) => letter.event.text),
      ['doomed', 'older'],
    );
    assert.deepEqual(letters[1], legacy);
  });

  it('a bare-JSON letter that is not a dead letter is DATA_CORRUPT', async () => {
    await deadLetterOnDisk('doomed');
    const [[key]] = await storedLetters(fixture.dir);
    await putRaw(fixture.dir, key, Buffer.from('{"agentId":"a1","event":{"type":"SAY"},"crashes":"many"}', 'utf8'));
    const rt = await fixture.open();
    const error = await rejection(rt.supervisors.deadLetters());
    assert.equal(error.code, 'DATA_CORRUPT');
    assert.match(error.message, /does not match the dead letter shape \(error, crashes, poison, at\)/);
  });

  it('verifyStore checks dead letters: intact ones (enveloped or bare) pass, a damaged one is reported', async () => {
    await deadLetterOnDisk('doomed');
    const [[key, bytes]] = await storedLetters(fixture.dir);
    const legacy: DeadLetter = { agentId: 'a1', event: { type: 'SAY' }, error: 'it crashed', crashes: 1, poison: false, at: 1 };
    await putRaw(fixture.dir, Buffer.from(`${key.toString('utf8')}-bare`, 'utf8'), Buffer.from(JSON.stringify(legacy), 'utf8'));
    const sound = await verifyStore({ dataDir: fixture.dir });
    assert.deepEqual(sound.problems, []);
    assert.equal(sound.ok, true);

    const damaged = Buffer.from(bytes);
    damaged[damaged.length - 2] ^= 0x01;
    await putRaw(fixture.dir, key, damaged);
    const report = await verifyStore({ dataDir: fixture.dir });
    assert.equal(report.ok, false);
    assert.equal(report.problems.length, 1);
    assert.equal(report.problems[0].sublevel, 'agents');
    assert.match(report.problems[0].message, /dead letter .* is corrupt: its checksum does not match/);
  });
});
