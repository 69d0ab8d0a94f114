/**
 * Migrations killed with SIGKILL (issue 14, "Tests that must exist and pass"): a child migrates 50,000
 * `profile` records from 1.0.0 to 2.0.0 and is killed at each point of the migration, then at random
 * moments; the parent reopens the store and checks that every record is old, or every record is new.
 *
 *   LLMSTATE_CRASH_ROUNDS=20 LLMSTATE_CRASH_SEED=7 npx mocha … test/schema/migrationCrash.test.ts
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createRuntime, verifyStore, type Runtime } from '../../src/index.js';
import { storageOf } from '../../src/runtime.js';
import { seededRandom } from '../../src/seededRandom.js';
import { decodeStateKey, kindRange } from '../../src/state/keyCodec.js';
import { decodeRecord } from '../../src/storage/recordEnvelope.js';
import { killPlans, runAndKill, type ChildRun } from '../backup/crashChild.js';
import { tempDir } from '../helpers.js';

const SEED = Number(process.env.LLMSTATE_CRASH_SEED ?? 1414);
const RANDOM_ROUNDS = Number(process.env.LLMSTATE_CRASH_ROUNDS ?? 4);
const AGENTS = 500;
const KEYS_PER_AGENT = 100;
const RECORDS = AGENTS * KEYS_PER_AGENT;
const CHILD = fileURLToPath(new URL('migrationCrashChild.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The points of a migration, in the order it passes them (see migrationCrashChild.ts). */
const POINTS = ['backup', 'prepared', 'migrate', 'journaled', 'committing', 'committed', 'apply', 'applied'];
/** A kill at these points, or after them, finds the migration committed: the records must be new. */
const COMMITTED = new Set(['committed', 'apply', 'applied', 'done', 'idle']);

interface ProfileV1 {
  name: string;
  age: string;
}

type Side = 'old' | 'new';

function plans(calibration: () => ChildRun['timeline'], random: () => number) {
  return killPlans(POINTS, calibration, random, { rounds: RANDOM_ROUNDS, seed: SEED });
}

/** The version 1 records, raw: state key (hex) → JSON. */
async function readTemplate(rt: Runtime): Promise<Map<string, string>> {
  const records = new Map<string, string>();
  for await (const [key, raw] of storageOf(rt).iterate('state', kindRange('agent'))) {
    const { schema, payload } = decodeRecord(raw);
    assert.equal(schema, 'profile@1.0.0');
    records.set(key.toString('hex'), payload.toString('utf8'));
  }
  return records;
}

/** What the migration makes of a version 1 record: renameField('name', 'fullName'), convert('age', 'number'), addField('tags', []). */
function isMigrated(json: string, before: ProfileV1): boolean {
  const after = JSON.parse(json) as Record<string, unknown>;
  return Object.keys(after).length === 3 && after.fullName === before.name && after.age === Number(before.age) && Array.isArray(after.tags) && after.tags.length === 0;
}

/** Whether every record is old or every one is new; throws naming the first record that is neither, or the mix. */
async function sideOf(rt: Runtime, template: Map<string, string>, label: string): Promise<Side> {
  let old = 0;
  let migrated = 0;
  const sample: Array<{ key: Buffer; json: string }> = [];
  for await (const [key, raw] of storageOf(rt).iterate('state', kindRange('agent'))) {
    const before = template.get(key.toString('hex'));
    const { schema, payload } = decodeRecord(raw);
    const json = payload.toString('utf8');
    const where = `${decodeStateKey(key)?.scope} ${decodeStateKey(key)?.key}`;
    assert.ok(before !== undefined, `killed ${label}: ${where} was not in the store before`);
    if (schema === 'profile@1.0.0' && json === before) old++;
    else if (schema === 'profile@2.0.0' && isMigrated(json, JSON.parse(before) as ProfileV1)) migrated++;
    else assert.fail(`killed ${label}: ${where} is neither old nor new: ${schema} ${json}`);
    if ((old + migrated) % 997 === 0) sample.push({ key, json });
  }
  assert.equal(old + migrated, RECORDS, `killed ${label}: ${old + migrated} records of ${RECORDS} are left`);
  assert.ok(old === 0 || migrated === 0, `killed ${label}: a mix of ${old} old and ${migrated} new records`);
  // The actors serve what the store holds.
  for (const { key, json } of sample) {
    const { scope, key: name } = decodeStateKey(key)!;
    assert.deepEqual(await rt.state.get(scope, name), JSON.parse(json), `killed ${label}: rt.state.get of ${scope} ${name}`);
  }
  return old === RECORDS ? 'old' : 'new';
}

/**
 * The `migration.started`, `.completed` and `.failed` events, checked against where the kill landed, and
 * the records logged under the migration's id: each of them once when it completed, even across a kill
 * and a resume, and none when it failed.
 */
async function checkEvents(rt: Runtime, run: ChildRun, side: Side, label: string): Promise<string> {
  const events = await rt.events.query({ kinds: ['migration.started', 'migration.completed', 'migration.failed'] });
  const kinds = events.map((event) => event.kind.slice('migration.'.length));
  const shown = `killed ${label}: the log has ${kinds.join(', ') || 'no migration events'}`;
  const reached = (point: string) => run.points.includes(point);
  const ids = new Set(events.map((event) => (event.data as { id: string }).id));
  assert.ok(ids.size <= 1, `${shown}, of ${ids.size} migrations`);
  if (ids.size === 1) {
    const logged = await rt.events.query({ correlationId: [...ids][0], kinds: ['state.set'], limit: RECORDS + 1 });
    const keys = new Set(logged.map((event) => `${event.scope} ${event.key}`));
    assert.equal(logged.length, side === 'new' ? RECORDS : 0, `killed ${label}: ${logged.length} records logged under the migration's id`);
    assert.equal(keys.size, logged.length, `killed ${label}: a record logged twice under the migration's id`);
  }
  if (side === 'new') {
    assert.deepEqual(kinds, ['started', 'completed'], shown);
    const data = events[1].data as { migrated: number; resumed?: boolean };
    assert.equal(data.migrated, RECORDS);
    // The child logs `completed` after `applied`, and before `done`.
    if (!reached('applied')) assert.equal(data.resumed, true, `${shown}: not resumed`);
    if (reached('done')) assert.equal(data.resumed, undefined, `${shown}: resumed`);
    return data.resumed === true ? 'completed (resumed)' : 'completed';
  }
  assert.ok(!kinds.includes('completed'), shown);
  // `started` is logged once the journal's marker is written, and the marker makes the next open log `failed`.
  if (reached('migrate')) assert.deepEqual(kinds, ['started', 'failed'], shown);
  else if (reached('prepared')) assert.ok(kinds.at(-1) === 'failed' && kinds.length <= 2, shown);
  else assert.ok(kinds.length === 0 || (kinds.length === 1 && kinds[0] === 'failed'), shown);
  if (kinds.at(-1) === 'failed') {
    assert.match((events.at(-1)!.data as { message: string }).message, /stopped before the migration committed/, shown);
    return 'failed';
  }
  return 'none';
}

function tally(counts: Map<string, number>): string {
  return [...counts].map(([name, count]) => `${name} ${count}`).join(', ');
}

describe('crash: a migration killed with SIGKILL', function () {
  this.timeout(600_000);
  const templates = tempDir('migration-crash-template');
  let template = new Map<string, string>();

  before(async () => {
    const request = { mode: 'build', dataDir: templates.dir, agents: AGENTS, keysPerAgent: KEYS_PER_AGENT };
    await promisify(execFile)(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(request)], { cwd: ROOT });
    const rt = await createRuntime({ dataDir: templates.dir });
    try {
      template = await readTemplate(rt);
    } finally {
      await rt.close();
    }
    assert.equal(template.size, RECORDS);
  });
  after(() => templates.cleanup());

  it('at any point leaves all 50,000 records old or all new, no journal, a sound store, and the migration logged as failed or completed', async () => {
    const started = performance.now();
    const random = seededRandom(SEED);
    let calibration: ChildRun['timeline'] = [];
    const landed = new Map<string, number>();
    const outcomes = new Map<string, number>();
    for (const { plan, pauseAt, label } of plans(() => calibration, random)) {
      const { dir, cleanup } = tempDir('migration-crash-round');
      try {
        await cp(templates.dir, dir, { recursive: true });
        const run = await runAndKill({ mode: 'run', dataDir: dir, ...(pauseAt === undefined ? {} : { pauseAt }) }, plan, CHILD);
        if (pauseAt === 'done') calibration = run.timeline;
        if (pauseAt !== undefined) assert.equal(run.landed, pauseAt, `the child did not reach ${pauseAt}`);
        landed.set(run.landed, (landed.get(run.landed) ?? 0) + 1);
        const rt = await createRuntime({ dataDir: dir });
        let side: Side;
        try {
          side = await sideOf(rt, template, label);
          if (COMMITTED.has(run.landed) || run.points.includes('committed')) assert.equal(side, 'new', `killed ${label}, after the commit`);
          if (!run.points.includes('committing')) assert.equal(side, 'old', `killed ${label}, before the commit`);
          let journal = 0;
          for await (const _ of storageOf(rt).iterate('migrations')) journal++;
          assert.equal(journal, 0, `killed ${label}: the journal holds ${journal} records`);
          assert.equal(await storageOf(rt).get('meta', Buffer.from('migration', 'utf8')), undefined, `killed ${label}: the migration marker is left`);
          const logged = await checkEvents(rt, run, side, label);
          outcomes.set(`${side}/${logged}`, (outcomes.get(`${side}/${logged}`) ?? 0) + 1);
        } finally {
          await rt.close();
        }
        const report = await verifyStore({ dataDir: dir });
        assert.deepEqual(report.problems, [], `killed ${label}: verify found problems`);
        assert.equal(report.ok, true);
      } finally {
        cleanup();
      }
    }
    const timeline = calibration.map(([point, ms]) => `${point} ${Math.round(ms)} ms`).join(', ');
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`      migration of ${RECORDS} records (${timeline}); kills by last point: ${tally(landed)}; after reopening: ${tally(outcomes)}; ${seconds} s`);
  });
});
