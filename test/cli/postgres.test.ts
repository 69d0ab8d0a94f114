import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { assign, setup } from 'xstate';
import { fileURLToPath } from 'node:url';
import { steps } from '../../src/index.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { Scope } from '../../src/state/Scope.js';
import { PROFILE_1, PROFILE_2, tagAdults } from '../fixtures/schemas/profileSchemas.mjs';
import { registerScripted } from '../hooks/hookHelpers.js';
import { describePostgres, freshPostgresSchema, type PostgresTestSchema } from '../support/postgres.js';
import { assertBuilt, assertFails, assertSucceeds, llmstate, removeTempDirs, tempDir, type CliResult } from './runCli.js';

const PROFILE_MODULE = fileURLToPath(new URL('../fixtures/schemas/profile.mjs', import.meta.url));

const counter = setup({ types: { context: {} as { count: number }, events: {} as { type: 'TICK' } } }).createMachine({
  id: 'counter',
  context: { count: 0 },
  on: { TICK: { actions: assign({ count: ({ context }) => context.count + 1 }) } },
});

describePostgres('llmstate --postgres', function () {
  this.timeout(60_000);
  let schema: PostgresTestSchema;
  before(assertBuilt);
  beforeEach(() => {
    schema = freshPostgresSchema();
  });
  afterEach(async () => {
    removeTempDirs();
    await schema.drop();
  });

  /** Runs llmstate on the test's own schema; the environment names no other store. */
  function onPostgres(...args: string[]): Promise<CliResult> {
    return llmstate(['--postgres', schema.connectionString, '--pg-schema', schema.schema, ...args], {
      env: { LLMSTATE_POSTGRES_URL: undefined, LLMSTATE_PG_SCHEMA: undefined },
    });
  }

  /** A profile@1.0.0 record of agent a1, and profile@2.0.0 with a migration to it: a migration to run. */
  async function profileToMigrate(rt: Runtime): Promise<void> {
      await rt.schemas.register({ name: 'profile', version: '1.0.0', schema: PROFILE_1 });
      await rt.schemas.bind('profile', { scopeKind: 'agent', keyPrefix: 'profile' });
      await rt.state.set(Scope.agent('a1'), 'profile', { name: 'Ada', age: '36' });
      await rt.schemas.register({ name: 'profile', version: '2.0.0', schema: PROFILE_2 });
      await rt.migrations.define({ schema: 'profile', from: '1.0.0', to: '2.0.0', steps: [steps.renameField('name', 'fullName'), steps.convert('age', 'number'), steps.custom(tagAdults)] });
  }

  function storeOptions() {
    return { storage: { postgres: { connectionString: schema.connectionString, schema: schema.schema } } };
  }

  it('set, get, keys and del work on the store in the schema', async () => {
    assertSucceeds(await onPostgres('set', 'agent:a1', 'topic', '{"name":"weather"}'));
    assertSucceeds(await onPostgres('set', 'agent:a1', 'notes', '["sulfides"]'));
    assert.deepEqual(await onPostgres('get', 'agent:a1', 'topic'), { code: 0, stdout: '{"name":"weather"}\n', stderr: '' });
    assert.deepEqual(await onPostgres('keys', 'agent:a1'), { code: 0, stdout: 'notes\ntopic\n', stderr: '' });
    assert.deepEqual(await onPostgres('del', 'agent:a1', 'topic'), { code: 0, stdout: 'deleted\n', stderr: '' });
    assert.deepEqual(await onPostgres('get', 'agent:a1', 'topic'), { code: 1, stdout: '', stderr: 'no value at agent:a1 topic\n' });

    const rt = await createRuntime(storeOptions());
    try {
      assert.deepEqual(await rt.state.get(Scope.agent('a1'), 'notes'), ['sulfides'], 'a program reads what the command wrote');
    } finally {
      await rt.close();
    }
  });

  it('leases lists who holds each lease; --prefix narrows the list, --json prints it whole', async () => {
    const rt = await createRuntime({ ...storeOptions(), leases: { owner: 'worker-1' } });
    try {
      await rt.state.set(Scope.agent('a1'), 'k', 1);
      const text = await onPostgres('leases', '--prefix', 'agent:');
      assertSucceeds(text);
      const [header, line, ...more] = text.stdout.trimEnd().split('\n');
      assert.match(header!, /^RESOURCE +OWNER +EPOCH +STATE +EXPIRES$/);
      assert.match(line!, /^agent:a1 +worker-1 +1 +held +in \d+\.\d s$/);
      assert.deepEqual(more, []);

      const json = await onPostgres('leases', '--json');
      assertSucceeds(json);
      const leases = JSON.parse(json.stdout) as { resource: string; owner: string; state: string; mine: boolean }[];
      assert.deepEqual(
        leases.map(({ resource, state, mine }) => [resource, state, mine]),
        [
          ['agent:a1', 'held', false],
          ['llmstate:store-format', 'released', false],
        ],
        'the command line holds none of them',
      );

      const none = await onPostgres('leases', '--prefix', 'hook:');
      assert.equal(none.code, 0);
      assert.equal(none.stdout, '');
      assert.match(none.stderr, /^no leases starting with hook: in postgres:\/\/postgres@/);
    } finally {
      await rt.close();
    }
  });

  it('reading commands refuse a schema that holds no store, and create no store in it', async () => {
    const noStore = `error[STORAGE_FAILED]: There is no llmstate store in postgres://postgres@`;
    // The same read last: the reads before it stamped no store.
    for (const args of [['get', 'global', 'k'], ['keys', 'global'], ['stats'], ['agents', 'list'], ['leases'], ['get', 'global', 'k']]) {
      const result = await onPostgres(...args);
      assertFails(result, 1, noStore);
      assert.ok(result.stderr.includes(`(schema ${schema.schema}). Check the connection string and the schema (--postgres, --pg-schema)`), result.stderr);
    }
  });

  it('backup list reads the backup directory of a schema that holds no store', async () => {
    const backupDir = tempDir();
    assert.deepEqual(await onPostgres('backup', 'list', '--backup-dir', backupDir), { code: 0, stdout: '', stderr: `no backups in ${backupDir}\n` });
  });

  it('stats names the URL and the schema, counts what is stored and gives its size', async () => {
    assertSucceeds(await onPostgres('set', 'agent:a1', 'topic', '1'));
    assertSucceeds(await onPostgres('set', 'global', 'cfg', '"x"'));
    const text = await onPostgres('stats');
    assertSucceeds(text);
    assert.match(text.stdout, /^postgres {10}postgres:\/\/\S+\n/);
    assert.ok(text.stdout.includes(`\nschema            ${schema.schema}\n`), text.stdout);
    assert.doesNotMatch(text.stdout, /data dir/);
    const stats = JSON.parse((await onPostgres('stats', '--json')).stdout);
    assert.equal(stats.schema, schema.schema);
    assert.equal(stats.lastCommitSeq, 2);
    assert.deepEqual(stats.total, { scopes: 2, keys: 2, valueBytes: stats.total.valueBytes });
    assert.ok(stats.sizeOnDisk > 0, `sizeOnDisk ${stats.sizeOnDisk}`);
  });

  it('agents list shows the agents a program saved in the store', async () => {
    const rt = await createRuntime(storeOptions());
    try {
      const agent = await rt.agents.spawn({ id: 'ada', type: 'counter', machine: counter });
      await agent.send({ type: 'TICK' });
      await rt.agents.spawn({ id: 'bob', type: 'counter', machine: counter });
    } finally {
      await rt.close();
    }
    const listed = await onPostgres('agents', 'list', '--json');
    assertSucceeds(listed);
    assert.deepEqual(
      (JSON.parse(listed.stdout) as { id: string; type: string; messages: number; live: boolean }[]).map(({ id, type, messages, live }) => ({ id, type, messages, live })),
      [
        { id: 'ada', type: 'counter', messages: 1, live: false },
        { id: 'bob', type: 'counter', messages: 0, live: false },
      ],
    );
  });

  it('backup create and backup list work with --backup-dir', async () => {
    const backupDir = tempDir();
    assertSucceeds(await onPostgres('set', 'agent:a1', 'topic', '"rain"'));
    const created = await onPostgres('backup', 'create', '--backup-dir', backupDir, '--json');
    assertSucceeds(created);
    const backup = JSON.parse(created.stdout) as { id: string; kind: string; seq: number; file: string };
    assert.equal(backup.kind, 'full');
    assert.equal(backup.seq, 1);
    assert.equal(path.dirname(backup.file), backupDir);
    assert.ok(fs.existsSync(backup.file));

    const listed = await onPostgres('backup', 'list', '--backup-dir', backupDir, '--json');
    assertSucceeds(listed);
    assert.deepEqual((JSON.parse(listed.stdout) as { id: string }[]).map(({ id }) => id), [backup.id]);
    assert.equal((await onPostgres('backup', 'verify', backup.id, '--backup-dir', backupDir)).code, 0);
  });

  it('demo --postgres runs every step on the store, and leaves it readable', async () => {
    const result = await onPostgres('demo');
    const backups = /^backups: (\S+)/m.exec(result.stdout)?.[1];
    if (backups !== undefined) removeTempDirs(backups);
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /^postgres: postgres:\/\/\S+ \(schema t_\w+\)$/m);
    assert.match(result.stdout, /^ {3}PostgreSQL at .* \(new\)$/m);
    assert.doesNotMatch(result.stdout, /✗/);
    assert.match(result.stdout, /^Every check passed\.$/m);
    assert.ok(result.stdout.includes(`--pg-schema ${schema.schema} keys agent:researcher`), 'prints how to look around');
    assert.deepEqual(await onPostgres('keys', 'agent:researcher'), { code: 0, stdout: 'messages\nnotes\nprogress\ntopic\n', stderr: '' });
  });

  it('a backup of a PostgreSQL store restores into a data directory, and a scope of it back into PostgreSQL', async () => {
    const backupDir = tempDir();
    assertSucceeds(await onPostgres('set', 'agent:a1', 'topic', '"rain"'));
    const backup = JSON.parse((await onPostgres('backup', 'create', '--backup-dir', backupDir, '--json')).stdout) as { id: string; file: string };

    const dataDir = path.join(tempDir(), 'store');
    assertSucceeds(await llmstate(['--data-dir', dataDir, 'backup', 'restore', '--from', backup.file]));
    assert.equal((await llmstate(['--data-dir', dataDir, 'get', 'agent:a1', 'topic'])).stdout, '"rain"\n');

    assertSucceeds(await onPostgres('set', 'agent:a1', 'topic', '"snow"'));
    const restored = await onPostgres('backup', 'restore', backup.id, '--scope', 'agent:a1', '--backup-dir', backupDir);
    assertSucceeds(restored);
    assert.equal((await onPostgres('get', 'agent:a1', 'topic')).stdout, '"rain"\n');
  });

  it('backup restore brings a whole PostgreSQL store back, and a data directory\'s backup into PostgreSQL', async () => {
    const backupDir = tempDir();
    assertSucceeds(await onPostgres('set', 'agent:a1', 'topic', '"rain"'));
    const backup = JSON.parse((await onPostgres('backup', 'create', '--backup-dir', backupDir, '--json')).stdout) as { id: string };
    assertSucceeds(await onPostgres('set', 'agent:a1', 'topic', '"snow"'));
    assertSucceeds(await onPostgres('set', 'agent:a2', 'topic', '"fog"'));
    assertSucceeds(await onPostgres('backup', 'restore', backup.id, '--backup-dir', backupDir));
    assert.equal((await onPostgres('get', 'agent:a1', 'topic')).stdout, '"rain"\n');
    assert.equal((await onPostgres('keys', 'agent:a2')).stdout, '', 'what came after the backup is gone');

    const dataDir = path.join(tempDir(), 'store');
    assertSucceeds(await llmstate(['--data-dir', dataDir, 'set', 'agent:l1', 'from', '"leveldb"']));
    const fromDisk = JSON.parse((await llmstate(['--data-dir', dataDir, 'backup', 'create', '--json'])).stdout) as { file: string };
    assertSucceeds(await onPostgres('backup', 'restore', '--from', fromDisk.file, '--backup-dir', backupDir));
    assert.equal((await onPostgres('get', 'agent:l1', 'from')).stdout, '"leveldb"\n');
    assert.equal((await onPostgres('keys', 'agent:a1')).stdout, '', 'the store is the data directory\'s now');
  });

  it('a connection the server refuses is STORAGE_FAILED, with the password hidden', async () => {
    const url = new URL(schema.connectionString);
    url.username = 'pgcli_nobody';
    url.password = 'pgcli-s3cret-pw';
    const result = await llmstate(['--postgres', url.href, 'get', 'global', 'k'], { env: { LLMSTATE_POSTGRES_URL: undefined } });
    assertFails(result, 1, 'error[STORAGE_FAILED]: Cannot open the store at postgres://pgcli_nobody@');
    assert.ok(!result.stderr.includes('pgcli-s3cret-pw'), result.stderr);
  });

  it('migrate run takes its backup into --backup-dir, then migrates the records in the schema', async () => {
    const rt = await createRuntime(storeOptions());
    try {
      await profileToMigrate(rt);
    } finally {
      await rt.close();
    }
    const backupDir = tempDir();
    const result = await onPostgres('--schemas', PROFILE_MODULE, 'migrate', 'run', 'profile', '--backup-dir', backupDir, '--json');
    assertSucceeds(result);
    const { backupId, migrated } = JSON.parse(result.stdout) as { backupId: string; migrated: number };
    assert.equal(migrated, 1);
    assert.ok(fs.existsSync(path.join(backupDir, `llmstate-${backupId}.backup`)), 'the backup is in --backup-dir');
    assert.deepEqual(JSON.parse((await onPostgres('get', 'agent:a1', 'profile')).stdout), { fullName: 'Ada', age: 36, tags: ['adult'] });
  });

  it('migrate run is refused while a running program holds a scope it would change, and nothing changes', async () => {
    const rt = await createRuntime({ ...storeOptions(), leases: { waitMs: 0 } });
    try {
      await profileToMigrate(rt);
      const refused = await onPostgres('--schemas', PROFILE_MODULE, 'migrate', 'run', 'profile', '--no-backup');
      assertFails(refused, 1, 'error[MIGRATION_FAILED]: ');
      assert.match(refused.stderr, /agent:a1 is active in another process/);
      assert.deepEqual(await rt.state.get(Scope.agent('a1'), 'profile'), { name: 'Ada', age: '36' });
    } finally {
      await rt.close();
    }
    assertSucceeds(await onPostgres('--schemas', PROFILE_MODULE, 'migrate', 'run', 'profile', '--no-backup'));
    assert.deepEqual(JSON.parse((await onPostgres('get', 'agent:a1', 'profile')).stdout), { fullName: 'Ada', age: 36, tags: ['adult'] });
  });

  it('hooks disable stops a hook in the running program that delivers it, and hooks enable runs it again there', async () => {
    const rt = await createRuntime({ ...storeOptions(), leases: { waitMs: 0 } });
    try {
      await registerScripted(rt, 'h');
      assertSucceeds(await onPostgres('hooks', 'disable', 'h', '--reason', 'an operator stops it'));
      while (rt.hooks.get('h')?.disabled === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
      assert.equal(rt.hooks.get('h')?.disabled?.reason, 'an operator stops it');
      await rt.state.set(Scope.agent('a1'), 'k', 1);
      while (rt.hooks.get('h')?.pending !== 1) await new Promise((resolve) => setTimeout(resolve, 5));
      assertSucceeds(await onPostgres('hooks', 'enable', 'h'));
      while ((await rt.hooks.history({ hookName: 'h', status: 'succeeded' })).length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    } finally {
      await rt.close();
    }
  });

  it('access quarantine cuts off an agent that a running program holds, and release lifts it there', async () => {
    const rt = await createRuntime({ ...storeOptions(), leases: { waitMs: 0 } });
    try {
      const agent = await rt.agents.spawn({ id: 'bob', type: 'counter', machine: counter });
      await agent.send({ type: 'TICK' });
      assertSucceeds(await onPostgres('access', 'quarantine', 'bob', '--reason', 'prompt injection suspected'));
      // The command's commit announces it: the program hears of it while it runs.
      while (rt.access.quarantined().length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      assert.equal(rt.access.quarantined()[0].reason, 'prompt injection suspected');
      const refused = await agent.send({ type: 'TICK' }).then(() => undefined, (error: { code?: string }) => error.code);
      assert.equal(refused, 'AGENT_QUARANTINED');
      assertSucceeds(await onPostgres('access', 'release', 'bob'));
      while (rt.access.quarantined().length > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    } finally {
      await rt.close();
    }
  });
});
