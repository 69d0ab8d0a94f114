import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describePostgres, freshPostgresSchema, type PostgresTestSchema } from '../support/postgres.js';
import { RuntimeProcess, type Answer } from './runtimeProcess.js';

const TTL_MS = 1500;

interface Execution {
  status: string;
  eventIds: string[];
}

describePostgres('scale-out: hooks across processes', function () {
  this.timeout(120_000);
  let store: PostgresTestSchema;
  let processes: RuntimeProcess[];
  let dir: string;

  beforeEach(() => {
    store = freshPostgresSchema();
    processes = [];
    dir = mkdtempSync(join(tmpdir(), 'llmstate-scaleout-hooks-'));
  });

  afterEach(async () => {
    await Promise.all(processes.map((one) => one.close()));
    await store.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(owner: string): Promise<RuntimeProcess> {
    const started = await RuntimeProcess.start({ connectionString: store.connectionString, schema: store.schema, owner, ttlMs: TTL_MS });
    processes.push(started);
    return started;
  }

  function value<T>(answer: Answer, what: string): T {
    assert.ok(answer.ok, `${what}: ${answer.ok ? '' : `${answer.code} ${answer.message}`}`);
    return answer.value as T;
  }

  /** Waits until every one of `eventIds` has a succeeded execution on record, and returns the record. */
  async function deliveredOnce(reader: RuntimeProcess, eventIds: string[]): Promise<Execution[]> {
    for (;;) {
      const executions = value<Execution[]>(await reader.hookHistory('h'), 'history');
      const delivered = new Set(executions.filter((one) => one.status === 'succeeded').flatMap((one) => one.eventIds));
      if (eventIds.every((id) => delivered.has(id))) return executions;
      await sleep(100);
    }
  }

  function assertEachRecordedOnce(executions: Execution[], eventIds: string[]): void {
    const recorded = executions.filter((one) => one.status === 'succeeded').flatMap((one) => one.eventIds).sort();
    assert.deepEqual(recorded, [...eventIds].sort(), 'every event has exactly one recorded success');
  }

  it('the deliveries pending in a killed process are delivered by a survivor, each recorded once', async () => {
    const startedFile = join(dir, 'started.jsonl');
    const [p0, p1] = [await start('p0'), await start('p1')];
    // p0 registers first, so it takes the hook's delivery lease; p1 has the hook too, and waits.
    value(await p0.registerHook('h', { delayMs: 2000, startedFile }), 'p0 registers');
    await sleep(500);
    value(await p1.registerHook('h', { delayMs: 2000, startedFile }), 'p1 registers');
    for (let n = 0; n < 4; n++) {
      value(await p0.set('agent:a', `k${n}`, n), 'p0 writes');
      value(await p1.set('agent:b', `k${n}`, n), 'p1 writes');
    }
    const eventIds = value<string[]>(await p1.setEventIds(), 'events');
    assert.equal(eventIds.length, 8);
    // p0 is killed while its first execution runs: nothing of its deliveries is on record yet.
    while (!existsSync(startedFile) || readFileSync(startedFile, 'utf8').length === 0) await sleep(20);
    await p0.kill();
    assert.deepEqual(value<Execution[]>(await p1.hookHistory('h'), 'history').filter((one) => one.status === 'succeeded'), [], 'the killed process recorded nothing');

    assertEachRecordedOnce(await deliveredOnce(p1, eventIds), eventIds);
  });

  it('a paused process whose delivery was taken over records nothing when it wakes: each success is recorded once', async () => {
    const startedFile = join(dir, 'started.jsonl');
    const [p0, p1] = [await start('p0'), await start('p1')];
    value(await p0.registerHook('h', { delayMs: 1000, startedFile }), 'p0 registers');
    await sleep(500);
    value(await p1.registerHook('h', { delayMs: 1000, startedFile }), 'p1 registers');
    value(await p0.set('agent:a', 'k', 1), 'p0 writes');
    value(await p1.set('agent:b', 'k', 2), 'p1 writes');
    const eventIds = value<string[]>(await p1.setEventIds(), 'events');
    while (!existsSync(startedFile) || readFileSync(startedFile, 'utf8').length === 0) await sleep(20);
    p0.signal('SIGSTOP');
    const executions = await deliveredOnce(p1, eventIds);
    p0.signal('SIGCONT');
    // p0's execution ends now, and its record is refused by the fence; give it the time to try.
    await sleep(1500);
    assertEachRecordedOnce(value<Execution[]>(await p1.hookHistory('h'), 'history'), eventIds);
    assert.ok(executions.length >= 1);
  });
});
