import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Scope, type Runtime } from '../../src/index.js';
import { readLastSeq } from '../../src/events/eventLog.js';
import { storageOf } from '../../src/runtime.js';
import { seededRandom } from '../../src/seededRandom.js';
import { removeAbandonedStagings } from '../../src/storage/postgresStaging.js';
import { RuntimeFixture } from '../helpers.js';
import { describePostgres, postgresQuery, stagedRestoreSchemas } from '../support/postgres.js';
import { runAndKill, type ChildRun, type KillPlan } from './crashChild.js';

const child = fileURLToPath(new URL('../fixtures/postgresRestoreChild.ts', import.meta.url));
const SEED = Number(process.env.LLMSTATE_CRASH_SEED ?? 1717);
const RANDOM_ROUNDS = Number(process.env.LLMSTATE_CRASH_ROUNDS ?? 6);
const SCOPES = [Scope.agent('r0'), Scope.agent('r1')];
const KEYS_PER_SCOPE = 1000;

/** About 1 KiB that compresses little, so that the restore takes a while. */
const pad = () => randomBytes(768).toString('base64');

async function writeSide(rt: Runtime, side: 'A' | 'B'): Promise<void> {
  for (const scope of SCOPES) {
    await rt.state.clearScope(scope);
    for (let start = 0; start < KEYS_PER_SCOPE; start += 250) {
      await rt.state.transaction(scope, (tx) => {
        for (let i = start; i < start + 250; i++) tx.set(`${side}${i % 2 === 0 ? 'k' : side}${i}`, { side, i, pad: pad() });
      });
    }
  }
}

/** 'A' or 'B' when every key of every scope is that side's (values sampled), otherwise what is wrong. */
async function sideOf(rt: Runtime): Promise<string> {
  const sides = new Set<string>();
  for (const scope of SCOPES) {
    const keys = await rt.state.listKeys(scope);
    if (keys.length !== KEYS_PER_SCOPE) return `${scope} holds ${keys.length} keys`;
    const keySides = new Set(keys.map((key) => key[0]));
    for (const key of keys.filter((_, i) => i % 50 === 0)) keySides.add(((await rt.state.get(scope, key)) as { side: string }).side);
    for (const side of keySides) sides.add(side);
  }
  return sides.size === 1 ? [...sides][0]! : `a mix of ${[...sides].join(' and ')}`;
}

describePostgres('crash: a full restore on PostgreSQL killed with SIGKILL', function () {
  this.timeout(600_000);
  const fixture = new RuntimeFixture('backup-pg-crash', 'postgres');
  const schema = fixture.postgres!.schema;
  const backupDir = join(fixture.dir, 'backups');
  const open = () => fixture.open({ backups: { dir: backupDir }, hooks: { autoStart: false } });
  let backupA = '';
  let backupB = '';

  before(async () => {
    const rt = await open();
    await writeSide(rt, 'B');
    backupB = (await rt.backups.create({ compression: 'none' })).id;
    await writeSide(rt, 'A');
    backupA = (await rt.backups.create({ compression: 'none' })).id;
    await rt.close();
  });
  after(async () => {
    await fixture.dispose();
    for (const name of await stagedRestoreSchemas(schema)) await postgresQuery(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
  });

  it('leaves entirely the old state or entirely the restored one, a counter that never goes back, and no staged schema once the dead session ends', async () => {
    const random = seededRandom(SEED);
    const points = ['start', 'restore', 'safety', 'switch', 'done'];
    const plans: Array<{ plan: KillPlan; label: string }> = points.map((point) => ({ plan: { atPoint: point }, label: `at ${point}` }));
    for (let round = 0; round < RANDOM_ROUNDS; round++) {
      // Most of them in the switch, which is short: what a kill there leaves is what this test is for.
      const ms = Math.round(random() * 60);
      plans.push({ plan: { afterPoint: round % 2 === 0 ? 'switch' : 'safety', ms }, label: `${ms} ms after ${round % 2 === 0 ? 'switch' : 'safety'} (seed ${SEED}, round ${round})` });
    }
    const outcomes = new Map<string, number>();
    for (const { plan, label } of plans) {
      const run: ChildRun = await runAndKill({ connectionString: fixture.postgres!.connectionString, schema, backupDir, id: backupB }, plan, child);
      // A killed session's locks go when the server notices it is gone: until then its staging is in use.
      const deadline = Date.now() + 15_000;
      while ((await stagedRestoreSchemas(schema)).length > 0 && Date.now() < deadline) {
        await removeAbandonedStagings({ connectionString: fixture.postgres!.connectionString, schema });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.deepEqual(await stagedRestoreSchemas(schema), [], `killed ${label}: a staged schema is left`);

      const rt = await open();
      try {
        const side = await sideOf(rt);
        assert.ok(side === 'A' || side === 'B', `killed ${label}: the store holds ${side}`);
        if (run.points.includes('done')) assert.equal(side, 'B', `killed ${label}: the restore resolved, but the store holds A`);
        if (!run.points.includes('switch')) assert.equal(side, 'A', `killed ${label}: the store switched before the restore reached its switch`);
        outcomes.set(side, (outcomes.get(side) ?? 0) + 1);
        const logged = await readLastSeq(storageOf(rt));
        const [counter] = await postgresQuery<{ seq: string }>(`SELECT seq::text AS seq FROM "${schema}".commit_sequence`);
        assert.ok(Number(counter.seq) >= logged, `killed ${label}: the commit counter is behind the log`);
        await rt.state.set(Scope.custom('after'), 'k', label);
        assert.equal(await readLastSeq(storageOf(rt)), Math.max(Number(counter.seq), logged) + 1, `killed ${label}: the next commit does not follow`);
        if (side === 'B') {
          await rt.backups.restore({ id: backupA });
          assert.equal(await sideOf(rt), 'A');
        }
      } finally {
        await rt.close();
      }
    }
    console.log(`      outcomes: ${[...outcomes].map(([side, count]) => `${side === 'A' ? 'old' : 'restored'} ${count}`).join(', ')}`);
  });
});
