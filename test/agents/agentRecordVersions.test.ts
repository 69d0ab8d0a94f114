import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { agentRecordKey, AGENT_RECORD_VERSION, encodeAgentRecord, type AgentRecord } from '../../actors/agentRecord.js';
import { AGENT_RECORD_UPGRADES, OLDEST_AGENT_RECORD_VERSION } from '../../actors/agentRecordVersions.js';
import { verifyStore, type Runtime } from '../../src/index.js';
import { storageOf } from '../../src/runtime.js';
import { decodeRecord, encodeRecord } from '../../src/storage/recordEnvelope.js';
import { chatMachine } from '../fixtures/chatMachine.js';
import { rejection, RuntimeFixture } from '../helpers.js';
import { snapshotTexts, textsOf, untilSettled } from './agentKit.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/agent-records/', import.meta.url));

/** The version 1 fixtures, one directory per build that wrote them. */
const BUILDS = ['v1-816c544', 'v1-a14f598'];

/** A fixture directory's records: their stored bytes by agent id. */
function recordsOf(build: string): Map<string, Buffer> {
  const dir = `${FIXTURES}${build}/`;
  return new Map(readdirSync(dir).map((file) => [file.replace(/\.record$/, ''), readFileSync(dir + file)]));
}

/** The record inside stored bytes, as JSON, and its schema reference. */
function payloadOf(bytes: Buffer): { schema: string | undefined; record: Record<string, any> } {
  const { schema, payload } = decodeRecord(bytes);
  return { schema, record: JSON.parse(payload.toString('utf8')) };
}

/** What a version 1 record reads as now: as restoring it in a version 1 build started it, permanent with a 5000 ms shutdown. */
function upgradedV1(stored: Record<string, any>): AgentRecord {
  return { ...stored, restart: 'permanent', shutdown: 5000, metadata: { ...stored.metadata, schemaVersion: 2 } } as AgentRecord;
}

describe('versioned agent records', () => {
  let fixture: RuntimeFixture;
  beforeEach(() => {
    fixture = new RuntimeFixture('agent-record-versions');
  });
  afterEach(() => fixture.dispose());

  /** A fresh store holding `records` (agent id → stored bytes) in its `agents` namespace, reopened. */
  async function storeWith(records: Map<string, Buffer>): Promise<Runtime> {
    const rt = await fixture.open();
    await storageOf(rt).batch([...records].map(([id, value]) => ({ type: 'put' as const, sublevel: 'agents' as const, key: agentRecordKey(id), value })));
    return fixture.reopen(rt);
  }

  async function storedBytes(rt: Runtime, id: string): Promise<Buffer> {
    const bytes = await storageOf(rt).get('agents', agentRecordKey(id));
    assert.ok(bytes !== undefined, `agent ${id} is stored`);
    return bytes;
  }

  it('the upgrades run from the oldest version to the current one, one version at a time', () => {
    assert.equal(OLDEST_AGENT_RECORD_VERSION, 1);
    assert.equal(AGENT_RECORD_VERSION, 2);
    assert.deepEqual(
      AGENT_RECORD_UPGRADES.map((upgrade) => upgrade.from),
      Array.from({ length: AGENT_RECORD_VERSION - OLDEST_AGENT_RECORD_VERSION }, (_, index) => OLDEST_AGENT_RECORD_VERSION + index),
    );
  });

  for (const build of BUILDS) {
    describe(`records saved by build ${build.slice(3)}`, () => {
      const fixtures = recordsOf(build);

      it('are version 1 records, reference and metadata alike', () => {
        assert.deepEqual([...fixtures.keys()].sort(), ['chat', 'paused', 'plain', 'stopped', 'worker']);
        for (const [id, bytes] of fixtures) {
          const { schema, record } = payloadOf(bytes);
          assert.equal(schema, 'agent-record@1', id);
          assert.equal(record.metadata.schemaVersion, 1, id);
          assert.equal('restart' in record || 'shutdown' in record, false, `${id} has no restart or shutdown`);
        }
      });

      it('show and list read them upgraded to the current version, and write nothing', async () => {
        const rt = await storeWith(fixtures);
        for (const [id, bytes] of fixtures) {
          assert.deepEqual(await rt.agents.show(id), upgradedV1(payloadOf(bytes).record), id);
        }
        const chat = await rt.agents.show('chat');
        assert.deepEqual(snapshotTexts(chat.machineSnapshot), ['one', 'two']);
        assert.equal((await rt.agents.show('worker')).supervisor, 'team');
        assert.deepEqual(
          (await rt.agents.list()).map(({ id, status, live, supervisor }) => ({ id, status, live, supervisor })),
          [
            { id: 'chat', status: 'running', live: false, supervisor: 'agents' },
            { id: 'paused', status: 'paused', live: false, supervisor: 'agents' },
            { id: 'plain', status: 'running', live: false, supervisor: 'agents' },
            { id: 'stopped', status: 'stopped', live: false, supervisor: 'agents' },
            { id: 'worker', status: 'running', live: false, supervisor: 'team' },
          ],
        );
        for (const [id, bytes] of fixtures) assert.deepEqual(await storedBytes(rt, id), bytes, `${id} is stored as the older build left it`);
      });

      it('restore returns the upgraded record, saves it in the current version, and the agent carries on', async () => {
        const rt = await storeWith(fixtures);
        rt.agents.define('chat', chatMachine());
        await rt.supervisors.create({ id: 'team', strategy: 'one_for_one' }).ready();
        for (const [id, bytes] of fixtures) {
          const agent = await rt.agents.restore(id);
          const expected = upgradedV1(payloadOf(bytes).record);
          const restored = agent.record();
          assert.deepEqual(
            { ...restored, metadata: { ...restored.metadata, updatedAt: 0 } },
            { ...expected, status: expected.status === 'paused' ? 'paused' : 'running', metadata: { ...expected.metadata, updatedAt: 0 } },
            id,
          );
          const saved = payloadOf(await storedBytes(rt, id));
          assert.equal(saved.schema, `agent-record@${AGENT_RECORD_VERSION}`, id);
          assert.deepEqual(saved.record, restored, `${id} is stored as restore returned it`);
        }
        assert.deepEqual(textsOf(await rt.agents.get('chat').send({ type: 'SAY', text: 'three' })), ['one', 'two', 'three']);
        assert.deepEqual(textsOf(await rt.agents.get('stopped').send({ type: 'SAY', text: 'again' })), ['last words', 'again']);
        assert.equal(rt.agents.get('paused').status().state, 'paused');

        const again = await fixture.reopen(rt);
        for (const id of fixtures.keys()) {
          assert.equal(payloadOf(await storedBytes(again, id)).schema, `agent-record@${AGENT_RECORD_VERSION}`, id);
          assert.equal((await again.agents.show(id)).metadata.schemaVersion, AGENT_RECORD_VERSION, id);
        }
        assert.deepEqual(snapshotTexts((await again.agents.show('chat')).machineSnapshot), ['one', 'two', 'three']);
      });

      it('a restored version 1 agent is permanent, as version 1 builds restored it: a crash restarts it', async () => {
        const rt = await storeWith(fixtures);
        await rt.supervisors.create({ id: 'team', strategy: 'one_for_one' }).ready();
        const worker = await rt.agents.restore('worker', { machine: chatMachine() });
        assert.equal(worker.record().restart, 'permanent');
        assert.equal((await rejection(worker.send({ type: 'THROW' }))).code, 'ACTOR_CRASHED');
        await untilSettled(rt, ['worker']);
        assert.equal(worker.status().restarts, 1);
        assert.deepEqual(textsOf(await worker.send({ type: 'SAY', text: 'back' })), ['on the team', 'back']);
      });
    });
  }

  describe('records saved in the current version (build 7435001)', () => {
    const fixtures = recordsOf('v2-7435001');

    it('read back exactly as stored, and restore starts each agent with its restart type and shutdown', async () => {
      const rt = await storeWith(fixtures);
      for (const [id, bytes] of fixtures) {
        const { schema, record } = payloadOf(bytes);
        assert.equal(schema, 'agent-record@2', id);
        assert.deepEqual(await rt.agents.show(id), record, id);
      }
      await rt.supervisors.create({ id: 'team', strategy: 'one_for_one' }).ready();
      const worker = await rt.agents.restore('worker', { machine: chatMachine() });
      assert.deepEqual([worker.record().restart, worker.record().shutdown], ['temporary', 'brutal_kill']);
      await rejection(worker.send({ type: 'THROW' }));
      await untilSettled(rt, []);
      assert.deepEqual(rt.agents.liveIds(), [], 'a temporary agent is not restarted');
    });
  });

  describe('a version 2 record that build a14f598 restored and saved again', () => {
    const bytes = recordsOf('resaved-by-a14f598').get('worker')!;

    it('is stored as version 1 with metadata.schemaVersion 2, and without the restart type and shutdown', () => {
      const { schema, record } = payloadOf(bytes);
      assert.equal(schema, 'agent-record@1');
      assert.equal(record.metadata.schemaVersion, 2);
      assert.equal('restart' in record || 'shutdown' in record, false);
    });

    it('is read as version 1 again, not as damage, and verify accepts it', async () => {
      const rt = await storeWith(new Map([['worker', bytes]]));
      assert.deepEqual(await rt.agents.show('worker'), upgradedV1(payloadOf(bytes).record));
      await rt.supervisors.create({ id: 'team', strategy: 'one_for_one' }).ready();
      const worker = await rt.agents.restore('worker', { machine: chatMachine() });
      assert.deepEqual(textsOf(await worker.send({ type: 'SAY', text: 'forward again' })), ['on the team', 'forward again']);
      await rt.close();
      assert.deepEqual((await verifyStore({ dataDir: fixture.dir })).problems, []);
    });
  });

  describe('version 2', () => {
    it('keeps the restart type and shutdown spawn was given, and restore starts the agent with them', async () => {
      let rt = await fixture.open();
      await rt.supervisors.create({ id: 'team', strategy: 'one_for_one' }).ready();
      const spawned = await rt.agents.spawn({ id: 'x1', type: 'chat', machine: chatMachine(), supervisor: 'team', restart: 'temporary', shutdown: 'brutal_kill' });
      await spawned.send({ type: 'SAY', text: 'hello' });
      rt = await fixture.reopen(rt);
      const stored = payloadOf(await storedBytes(rt, 'x1'));
      assert.equal(stored.schema, 'agent-record@2');
      assert.deepEqual([stored.record.restart, stored.record.shutdown, stored.record.metadata.schemaVersion], ['temporary', 'brutal_kill', 2]);

      await rt.supervisors.create({ id: 'team', strategy: 'one_for_one' }).ready();
      const agent = await rt.agents.restore('x1', { machine: chatMachine() });
      assert.deepEqual([agent.record().restart, agent.record().shutdown], ['temporary', 'brutal_kill']);
      await rejection(agent.send({ type: 'THROW' }));
      await untilSettled(rt, []);
      const [summary] = await rt.agents.list();
      assert.deepEqual({ id: summary.id, live: summary.live, status: summary.status }, { id: 'x1', live: false, status: 'crashed' }, 'not restarted: it is temporary');
    });

    it('spawn without restart or shutdown records the defaults', async () => {
      const rt = await fixture.open();
      const agent = await rt.agents.spawn({ id: 'a1', type: 'notes' });
      assert.deepEqual([agent.record().restart, agent.record().shutdown], ['permanent', 5000]);
    });
  });

  describe('records this build does not read', () => {
    const v1 = () => payloadOf(recordsOf('v1-a14f598').get('plain')!).record;
    const current = (): Record<string, any> => upgradedV1(v1());
    const enveloped = (schema: string | undefined, record: unknown) =>
      encodeRecord({ seq: 0, timestamp: 1, ...(schema === undefined ? {} : { schema }) }, typeof record === 'string' ? record : JSON.stringify(record));

    it('a record of a newer version is MIGRATION_NO_PATH, naming the versions, and is left as it is', async () => {
      const newer = { ...current(), memory: { summary: 'a field of version 3' }, metadata: { ...current().metadata, schemaVersion: 3 } };
      const bytes = enveloped('agent-record@3', newer);
      const rt = await storeWith(new Map([['plain', bytes]]));
      for (const attempt of [() => rt.agents.restore('plain'), () => rt.agents.show('plain'), () => rt.agents.list()]) {
        const error = await rejection(attempt());
        assert.equal(error.code, 'MIGRATION_NO_PATH');
        assert.match(error.message, /^The stored record of agent plain is agent-record@3, written by a newer llmstate: this one reads agent records up to version 2 and never downgrades one/);
        assert.deepEqual(error.details, { agent: 'plain', schema: 'agent-record', version: 3, supported: 2 });
      }
      assert.deepEqual(rt.agents.liveIds(), []);
      assert.deepEqual(await storedBytes(rt, 'plain'), bytes);
    });

    const damaged: [string, () => Buffer, RegExp][] = [
      ['no schema reference', () => enveloped(undefined, v1()), /carries no schema reference, where every agent record has agent-record@<version>/],
      ['another schema', () => enveloped('profile@1', v1()), /its schema reference is "profile@1", not agent-record@<version>/],
      ['version 0', () => enveloped('agent-record@0', v1()), /its schema reference is "agent-record@0"/],
      ['a payload that is not JSON', () => enveloped('agent-record@1', '{"id":'), /it is not valid JSON/],
      ['a version 1 record with a bad field', () => enveloped('agent-record@1', { ...v1(), status: 'sleeping' }), /does not match agent-record@1 \(status: /],
      ['a version 2 reference on a version 1 record', () => enveloped('agent-record@2', v1()), /does not match agent-record@2 \(restart: .*shutdown: /],
      [
        'a version 2 record whose metadata says 1',
        () => enveloped('agent-record@2', { ...current(), metadata: { ...current().metadata, schemaVersion: 1 } }),
        /its envelope says agent-record@2 but its metadata says schemaVersion 1/,
      ],
    ];
    for (const [what, bytes, message] of damaged) {
      it(`${what} is DATA_CORRUPT`, async () => {
        const rt = await storeWith(new Map([['plain', bytes()]]));
        const error = await rejection(rt.agents.restore('plain'));
        assert.equal(error.code, 'DATA_CORRUPT');
        assert.match(error.message, /^A stored record \(agent plain\) is corrupt: /);
        assert.match(error.message, message);
      });
    }
  });

  describe('verifyStore', () => {
    it('accepts records of older versions as whole, reports a damaged one, and takes a newer one for no damage', async () => {
      const fixtures = recordsOf('v1-816c544');
      await (await storeWith(fixtures)).close();
      const sound = await verifyStore({ dataDir: fixture.dir });
      assert.deepEqual(sound.problems, []);
      assert.equal(sound.ok, true);
      assert.equal(sound.bySublevel.agents, fixtures.size);

      const rt = await fixture.open();
      const plain = payloadOf(fixtures.get('plain')!).record;
      const newer = { ...upgradedV1(plain), metadata: { ...upgradedV1(plain).metadata, schemaVersion: 3 } };
      await storageOf(rt).batch([
        { type: 'put', sublevel: 'agents', key: agentRecordKey('bad'), value: encodeRecord({ seq: 0, timestamp: 1, schema: 'agent-record@1' }, JSON.stringify({ ...plain, id: 'bad', tools: 'none' })) },
        { type: 'put', sublevel: 'agents', key: agentRecordKey('newer'), value: encodeRecord({ seq: 0, timestamp: 1, schema: 'agent-record@3' }, JSON.stringify(newer)) },
        { type: 'put', sublevel: 'agents', key: agentRecordKey('current'), value: encodeAgentRecord(upgradedV1({ ...plain, id: 'current' }), 0) },
      ]);
      await rt.close();
      const report = await verifyStore({ dataDir: fixture.dir });
      assert.equal(report.ok, false);
      assert.deepEqual(
        report.problems.map(({ sublevel, key, kind }) => ({ sublevel, key, kind })),
        [{ sublevel: 'agents', key: 'record/bad', kind: 'record' }],
      );
      assert.match(report.problems[0].message, /^A stored record \(agent bad\) is corrupt: it does not match agent-record@1 \(tools: /);
    });
  });
});
