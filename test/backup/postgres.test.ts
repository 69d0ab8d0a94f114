import assert from 'node:assert/strict';
import { join } from 'node:path';
import pg from 'pg';
import { createRuntime, Scope, SUBLEVELS, type Runtime, type SublevelName } from '../../src/index.js';
import { decodeSeqKey } from '../../src/events/eventLog.js';
import { storageOf } from '../../src/runtime.js';
import { stagePostgresStore } from '../../src/storage/postgresStaging.js';
import { chatMachine } from '../fixtures/chatMachine.js';
import { snapshotTexts } from '../agents/agentKit.js';
import { registerScripted } from '../hooks/hookHelpers.js';
import { rejection, RuntimeFixture, type StoreKind } from '../helpers.js';
import { describePostgres, postgresQuery, postgresTestUrl, stagedRestoreSchemas } from '../support/postgres.js';

const a1 = Scope.agent('a1');
const b1 = Scope.agent('b1');
const machine = chatMachine();

/** Namespaces a restore carries over as they are (the log is compared up to the backup's sequence). */
const CARRIED = SUBLEVELS.filter((name) => name !== 'backups' && name !== 'events');

type RawImage = Record<string, string[]>;

/** Every record of every namespace, as hex, the event log only up to `seq`. */
async function rawImage(rt: Runtime, seq: number): Promise<RawImage> {
  const storage = storageOf(rt);
  const image: RawImage = {};
  for (const sublevel of [...CARRIED, 'events'] as SublevelName[]) {
    const entries: string[] = [];
    for await (const [key, value] of storage.iterate(sublevel)) {
      if (sublevel === 'events' && decodeSeqKey(key) > seq) continue;
      entries.push(`${key.toString('hex')}=${value.toString('hex')}`);
    }
    image[sublevel] = entries;
  }
  return image;
}

async function commitCounter(schema: string): Promise<number> {
  const [row] = await postgresQuery<{ seq: string }>(`SELECT seq::text AS seq FROM "${schema}".commit_sequence`);
  return Number(row.seq);
}

async function lastEventSeq(rt: Runtime): Promise<number> {
  const events = await rt.events.query({});
  return events[events.length - 1].seq;
}

/** A fixture on `store`, its backups in its own directory (a PostgreSQL runtime has no default). */
class Side {
  readonly fixture: RuntimeFixture;
  constructor(store: StoreKind) {
    this.fixture = new RuntimeFixture(`backup-${store}`, store);
  }
  get backupDir(): string {
    return join(this.fixture.dir, 'backups');
  }
  open(options: Parameters<RuntimeFixture['open']>[0] = {}): Promise<Runtime> {
    return this.fixture.open({ backups: { dir: this.backupDir }, ...options });
  }
  async dispose(): Promise<void> {
    const schema = this.fixture.postgres?.schema;
    await this.fixture.dispose();
    if (schema !== undefined) for (const name of await stagedRestoreSchemas(schema)) await postgresQuery(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
  }
}

describePostgres('backups between PostgreSQL and LevelDB', function () {
  this.timeout(60_000);
  const sides: Side[] = [];
  afterEach(async () => {
    for (const side of sides.splice(0)) await side.dispose();
  });

  for (const [from, to] of [
    ['postgres', 'leveldb'],
    ['leveldb', 'postgres'],
  ] as const) {
    it(`a backup taken on ${from} restores on ${to} with every value, agent, event and pending hook delivery`, async () => {
      const source = new Side(from);
      const target = new Side(to);
      sides.push(source, target);
      // Hooks stay still, so that the outbox keeps its pending deliveries for the backup to hold.
      let rt = await source.open({ hooks: { autoStart: false } });
      await registerScripted(rt, 'echo', { echo: true });
      await rt.state.set(a1, 'topic', { name: 'weather', tags: ['a', 'b'] });
      await rt.state.set(Scope.global(), 'config', 42);
      await rt.state.set(Scope.workflow('w1'), 'step', 'fetch');
      await rt.state.set(b1, 'gone', true);
      await rt.state.delete(b1, 'gone');
      const agent = await rt.agents.spawn({ id: 'chat1', type: 'chat', machine });
      await agent.send({ type: 'SAY', text: 'hello' });
      await agent.send({ type: 'SAY', text: 'again' });
      const session = await rt.sessions.start({ ttlMs: 3_600_000 });
      const backup = await rt.backups.create();
      const expected = await rawImage(rt, backup.seq);
      const events = (await rt.events.query({})).filter((event) => event.seq <= backup.seq);
      const pending = events.filter((event) => event.kind === 'state.set').map((event) => event.id);
      assert.ok(expected.outbox.length > 0, 'the backup holds pending hook deliveries');
      await rt.close();

      const restoring = await target.open({ hooks: { autoStart: false } });
      const result = await restoring.backups.restore({ from: backup.file });
      assert.equal(result.mode, 'full');
      assert.equal(result.restoredSeq, backup.seq);
      assert.deepEqual(await rawImage(restoring, backup.seq), expected, 'every record of every namespace is carried over, byte for byte');
      assert.deepEqual((await restoring.events.query({})).filter((event) => event.seq <= backup.seq), events);
      assert.deepEqual(await restoring.state.get(a1, 'topic'), { name: 'weather', tags: ['a', 'b'] });
      assert.equal(await restoring.state.get(Scope.global(), 'config'), 42);
      assert.deepEqual(await restoring.state.listKeys(b1), []);
      assert.equal((await restoring.sessions.get(session.id))?.id, session.id);
      const restored = await restoring.agents.restore('chat1', { machine });
      assert.deepEqual(snapshotTexts(restored.record().machineSnapshot), ['hello', 'again']);
      const reply = await restored.send({ type: 'SAY', text: 'after' });
      assert.deepEqual((reply.context as { texts: string[] }).texts, ['hello', 'again', 'after'], 'the agent carries on from its machine snapshot');

      // With hooks running, the deliveries the backup held pending are made on the new backend.
      rt = await target.fixture.reopen(restoring, { backups: { dir: target.backupDir } });
      await rt.hooks.idle();
      const delivered = (await rt.hooks.history({ hookName: 'echo' })).filter((execution) => execution.status === 'succeeded').flatMap((execution) => execution.eventIds);
      for (const id of pending) assert.ok(delivered.includes(id), `the pending delivery of ${id} was made after the restore`);
    });
  }
});

describePostgres('backups and restores on PostgreSQL', function () {
  this.timeout(60_000);
  let side: Side;
  let rt: Runtime;
  const schema = () => side.fixture.postgres!.schema;

  beforeEach(async () => {
    side = new Side('postgres');
    rt = await side.open();
  });
  afterEach(() => side.dispose());

  it('needs backups.dir: create() says so, and a schedule without it is refused', async () => {
    const bare = await side.fixture.open();
    const refused = await rejection(bare.backups.create());
    assert.equal(refused.code, 'BACKUP_NOT_FOUND');
    assert.match(refused.message, /PostgreSQL, so it has no data directory .*`backups: \{ dir \}`/);
    await assert.rejects(
      createRuntime({ ...side.fixture.storeOptions, backups: { every: 60_000 } }),
      (error: Error) => error instanceof TypeError && /`backups\.dir`.*`backups\.every`.*PostgreSQL/.test(error.message),
    );
  });

  it('a full restore, then an incremental one, switch the schema in place; the runtime writes on, its sequences after the restored ones', async () => {
    await rt.state.set(a1, 'keep', 'v1');
    await rt.state.set(b1, 'gone', 'v1');
    const full = await rt.backups.create();
    await rt.state.set(a1, 'keep', 'v2');
    await rt.state.delete(b1, 'gone');
    await rt.state.set(a1, 'new', [1, 2]);
    const inc = await rt.backups.create({ incremental: true });
    await rt.state.clearScope(a1);
    await rt.state.set(b1, 'later', true);
    const before = await lastEventSeq(rt);

    const first = await rt.backups.restore({ id: full.id });
    assert.equal(first.mode, 'full');
    assert.ok(first.seq! > before, 'the restore commits after the highest sequence used');
    assert.deepEqual([await rt.state.get(a1, 'keep'), await rt.state.get(b1, 'gone'), await rt.state.get(b1, 'later')], ['v1', 'v1', undefined]);
    assert.deepEqual(await stagedRestoreSchemas(schema()), [], 'the staged schema became the store');
    assert.equal(await commitCounter(schema()), first.seq, "the store's commit counter goes on from the restore's commit");

    const second = await rt.backups.restore({ id: inc.id });
    assert.ok(second.seq! > first.seq!);
    assert.deepEqual(await rt.state.listKeys(a1), ['keep', 'new']);
    assert.deepEqual([await rt.state.get(a1, 'keep'), await rt.state.get(a1, 'new'), await rt.state.listKeys(b1)], ['v2', [1, 2], []]);

    await rt.state.set(a1, 'after', 'restore');
    const [written] = await rt.events.query({ kinds: ['state.set'], scope: 'agent:a1' }).then((events) => events.filter((event) => event.key === 'after'));
    assert.equal(written.seq, second.seq! + 1, 'the next commit takes the next sequence');
    // Another runtime on the store (another process) commits after it too, and sees the restored state.
    const other = await side.fixture.open({ leases: { owner: 'other' } });
    assert.equal(await other.state.get(a1, 'keep'), 'v2');
    await other.state.set(Scope.workflow('w9'), 'k', 1);
    assert.equal(await lastEventSeq(other), second.seq! + 2);
    assert.equal(await commitCounter(schema()), second.seq! + 2);

    rt = await side.fixture.reopen(rt, { backups: { dir: side.backupDir } });
    assert.equal(await rt.state.get(a1, 'after'), 'restore', 'a reopened runtime finds the restored store, and what was written on it');
  });

  it('restores to a point in time from a backup and the log', async () => {
    await rt.state.set(a1, 'k', 0);
    await rt.backups.create();
    const marks: number[] = [];
    for (let value = 1; value <= 4; value++) {
      await rt.state.set(a1, 'k', value);
      marks.push(await lastEventSeq(rt));
    }
    await rt.state.clearScope(a1);
    const result = await rt.backups.restore({ at: marks[1] });
    assert.equal(result.mode, 'pointInTime');
    assert.equal(result.restoredSeq, marks[1]);
    assert.ok(result.replayedCommits >= 2);
    assert.equal(await rt.state.get(a1, 'k'), 2);
    await rt.state.set(a1, 'k', 'next');
    assert.equal(await lastEventSeq(rt), result.seq! + 1);
  });

  it('a restore of scopes replaces them alone, and refuses a scope another live process holds', async () => {
    await rt.state.set(a1, 'k', 'old');
    await rt.state.set(b1, 'k', 'old');
    const backup = await rt.backups.create();
    await rt.state.set(a1, 'k', 'new');
    await rt.state.set(b1, 'k', 'new');
    await rt.state.set(a1, 'extra', true);

    const result = await rt.backups.restore({ id: backup.id, scopes: [a1] });
    assert.equal(result.mode, 'scopes');
    assert.deepEqual([await rt.state.get(a1, 'k'), await rt.state.get(a1, 'extra'), await rt.state.get(b1, 'k')], ['old', undefined, 'new']);
    assert.equal(await commitCounter(schema()), result.seq, 'the restore took its sequence from the store counter');

    const other = await side.fixture.open({ leases: { owner: 'holder' } });
    await other.state.set(b1, 'k', 'held');
    const refused = await rejection(rt.backups.restore({ id: backup.id, scopes: [b1] }));
    assert.equal(refused.code, 'RESTORE_FAILED');
    assert.match(refused.message, /agent:b1.*\(holder\)/);
    assert.equal(await other.state.get(b1, 'k'), 'held', 'the scope is as the process that holds it left it');
    await rt.state.set(a1, 'k', 'still writable');
    assert.equal(await rt.state.get(a1, 'k'), 'still writable');
  });

  it('refuses a full restore while another process holds live leases, naming it, and changes nothing', async () => {
    await rt.state.set(a1, 'k', 'old');
    const backup = await rt.backups.create();
    await rt.state.set(a1, 'k', 'new');
    const other = await side.fixture.open({ leases: { owner: 'worker-7' } });
    await other.state.set(b1, 'k', 'busy');
    const backupsBefore = await rt.backups.list();

    const refused = await rejection(rt.backups.restore({ id: backup.id }));
    assert.equal(refused.code, 'RESTORE_FAILED');
    assert.match(refused.message, /worker-7 \(agent:b1\).*Stop those processes/);
    assert.deepEqual(refused.details?.leases, [{ owner: 'worker-7', resource: 'agent:b1', expiresAt: (refused.details!.leases as { expiresAt: number }[])[0].expiresAt }]);
    assert.equal(await rt.state.get(a1, 'k'), 'new');
    assert.deepEqual(await rt.backups.list(), backupsBefore, 'no safety backup was taken');
    assert.deepEqual(await stagedRestoreSchemas(schema()), []);

    await other.close();
    await rt.backups.restore({ id: backup.id });
    assert.equal(await rt.state.get(a1, 'k'), 'old');
  });

  it('fences the holds taken before the switch: a process paused past its lease cannot write into the restored store', async () => {
    await rt.state.set(a1, 'k', 'old');
    const backup = await rt.backups.create();
    const paused = await side.fixture.open({ leases: { owner: 'paused', ttlMs: 200 } });
    const storage = storageOf(paused);
    const attempt = await storage.acquireLease('agent:p1', 'paused', 100);
    assert.ok(attempt.acquired);
    await new Promise((resolve) => setTimeout(resolve, 250));
    await rt.backups.restore({ id: backup.id });

    const write = { type: 'put' as const, sublevel: 'state' as const, key: Buffer.from('x'), value: Buffer.from('y') };
    const lost = await rejection(storage.batch([write], { fence: [attempt.hold] }));
    assert.equal(lost.code, 'LEASE_LOST');
    const again = await storage.acquireLease('agent:p1', 'paused', 10_000);
    assert.ok(again.acquired && again.hold.epoch > attempt.hold.epoch, 'epochs go on from those before the restore');
  });

  it('a dry run changes nothing and leaves no staged schema', async () => {
    await rt.state.set(a1, 'k', 'old');
    const backup = await rt.backups.create();
    await rt.state.set(a1, 'k', 'new');
    const seq = await commitCounter(schema());
    const result = await rt.backups.restore({ id: backup.id, dryRun: true });
    assert.equal(result.dryRun, true);
    assert.deepEqual(result.changes?.map((change) => change.scope), ['agent:a1']);
    assert.equal(await rt.state.get(a1, 'k'), 'new');
    assert.equal(await commitCounter(schema()), seq);
    assert.deepEqual(await stagedRestoreSchemas(schema()), []);
  });

  it('drops the staged schema a restore that died left, at the next open, and keeps one a restore is building', async () => {
    const options = side.fixture.storeOptions.storage!.postgres;
    const building = await stagePostgresStore(options, { backupId: 'b-live' });
    // What a restore killed part way leaves: a schema marked as its staging, whose session is gone.
    const dead = `${schema()}_restore_dead00dead`;
    await postgresQuery(`CREATE SCHEMA "${dead}"; COMMENT ON SCHEMA "${dead}" IS 'llmstate restore staging of schema ${schema()}'`);
    const unmarked = `${schema()}_restore_unmarked`;
    await postgresQuery(`CREATE SCHEMA "${unmarked}"`);

    const reopened = await side.fixture.open({ leases: { owner: 'second' } });
    assert.deepEqual(await stagedRestoreSchemas(schema()), [building.schema, unmarked].sort(), 'only the abandoned staging is dropped; nothing unmarked is touched');
    await building.discard();
    assert.deepEqual(await stagedRestoreSchemas(schema()), [unmarked]);
    await reopened.close();
  });

  it('gives up the switch when another connection holds the store past the lock timeout, and changes nothing', async function () {
    this.timeout(40_000);
    await rt.state.set(a1, 'k', 'old');
    const backup = await rt.backups.create();
    await rt.state.set(a1, 'k', 'new');
    const reader = new pg.Client({ connectionString: postgresTestUrl() });
    await reader.connect();
    try {
      await reader.query(`BEGIN; LOCK TABLE "${schema()}".records IN ACCESS SHARE MODE`);
      const refused = await rejection(rt.backups.restore({ id: backup.id }));
      assert.equal(refused.code, 'RESTORE_FAILED');
      assert.equal(refused.details?.reason, 'lock_timeout');
      await reader.query('ROLLBACK');
    } finally {
      await reader.end();
    }
    assert.equal(await rt.state.get(a1, 'k'), 'new');
    assert.deepEqual(await stagedRestoreSchemas(schema()), []);
    await rt.state.set(a1, 'k', 'newer');
    assert.equal(await rt.state.get(a1, 'k'), 'newer', 'the runtime goes on, on the store it had');
  });
});
