import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cp, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRuntime, Scope, verifyStore, type Runtime } from '../../src/index.js';
import { seededRandom } from '../../src/seededRandom.js';
import { tempDir } from '../helpers.js';
import { killPlans, runAndKill, type ChildRequest, type ChildRun, type KillPlan } from './crashChild.js';

/** Keys and JSON values per scope string. */
type StateImage = Map<string, Map<string, string>>;

const SEED = Number(process.env.LLMSTATE_CRASH_SEED ?? 1313);
const RANDOM_ROUNDS = Number(process.env.LLMSTATE_CRASH_ROUNDS ?? 4);
const BACKUP_SCOPES = Array.from({ length: 8 }, (_, i) => Scope.agent(`w${i}`));
const BACKUP_KEYS_PER_SCOPE = 1250;
/** What the increment's template writes after its full backup. */
const ADDED_KEYS_PER_SCOPE = 625;
const RESTORE_SCOPES = Array.from({ length: 4 }, (_, i) => Scope.agent(`r${i}`));
const RESTORE_KEYS_PER_SCOPE = 1000;
/** The scopes the restore of scopes replaces; the others keep state A. */
const RESTORED_SCOPES = RESTORE_SCOPES.slice(0, 2).map(String);

/**
 * About 1 KiB that compresses little, so that a backup or restore of these 10k values runs for more than a
 * second: long enough for the random kills to land inside its stretches, and short enough for the rounds.
 */
const pad = () => randomBytes(768).toString('base64');

async function writeAll(rt: Runtime, image: StateImage): Promise<void> {
  for (const [scopeText, entries] of image) {
    const scope = Scope.parse(scopeText);
    const list = [...entries];
    for (let start = 0; start < list.length; start += 250) {
      await rt.state.transaction(scope, (tx) => {
        for (const [key, json] of list.slice(start, start + 250)) tx.set(key, JSON.parse(json));
      });
    }
  }
}

function image(scopes: readonly Scope[], keysOf: (scope: Scope) => [key: string, value: unknown][]): StateImage {
  return new Map(scopes.map((scope) => [String(scope), new Map(keysOf(scope).map(([key, value]) => [key, JSON.stringify(value)]))]));
}

/** Every key of `scopes`, with the value of every `sampleEvery`th (all by default); the others map to undefined. */
async function readImage(rt: Runtime, scopes: readonly Scope[], sampleEvery = 1): Promise<StateImage> {
  const result: StateImage = new Map();
  for (const scope of scopes) {
    const keys = await rt.state.listKeys(scope);
    const sampled = keys.filter((_, i) => i % sampleEvery === 0);
    const values = await Promise.all(sampled.map((key) => rt.state.get(scope, key)));
    const entries = new Map<string, string | undefined>(keys.map((key) => [key, undefined]));
    sampled.forEach((key, i) => entries.set(key, JSON.stringify(values[i]) ?? 'undefined'));
    result.set(String(scope), entries as Map<string, string>);
  }
  return result;
}

/** The first difference between two images (skipping values left unread), or undefined when they agree. */
function difference(actual: StateImage, expected: StateImage): string | undefined {
  for (const [scope, entries] of expected) {
    const got = actual.get(scope) ?? new Map<string, string>();
    if (got.size !== entries.size) return `${scope} holds ${got.size} keys, not ${entries.size}`;
    for (const [key, json] of entries) {
      if (!got.has(key)) return `${scope}/${key} is missing`;
      const value = got.get(key);
      if (value !== undefined && value !== json) return `${scope}/${key} differs`;
    }
  }
  return undefined;
}

/** The store directories in a data directory, and whether the pointer's temporary file is left. */
async function storeDirectories(dataDir: string): Promise<{ stores: string[]; active: string; pointerTemp: boolean }> {
  const entries = await readdir(dataDir, { withFileTypes: true });
  const active = await readFile(join(dataDir, 'STORE'), 'utf8').then((text) => text.trim(), () => 'db');
  return {
    stores: entries.filter((entry) => entry.isDirectory() && /^db(-|$)/.test(entry.name)).map((entry) => entry.name),
    active,
    pointerTemp: entries.some((entry) => entry.name === 'STORE.next'),
  };
}

/**
 * Whether the backup file being written was renamed into place (1) or not (0). Killed between the rename
 * and printing `file-renamed`, either may be true: then `seen` (what the directory shows) is accepted.
 */
function renamedInto(run: ChildRun, seen?: number): number {
  if (run.points.includes('file-renamed')) return 1;
  if (!run.points.includes('file-renaming')) return 0;
  return seen ?? 0;
}

function timelineText(timeline: ChildRun['timeline']): string {
  return timeline.map(([point, ms]) => `${point} ${Math.round(ms)} ms`).join(', ');
}

/** Counts where the kills landed, for the summary each test prints. */
function tally(runs: readonly ChildRun[]): string {
  const counts = new Map<string, number>();
  for (const run of runs) counts.set(run.landed, (counts.get(run.landed) ?? 0) + 1);
  return [...counts].map(([point, count]) => `${point} ${count}`).join(', ');
}

function plans(points: readonly string[], calibration: () => ChildRun['timeline'], random: () => number) {
  return killPlans(points, calibration, random, { rounds: RANDOM_ROUNDS, seed: SEED });
}

describe('crash: backups and restores killed with SIGKILL', function () {
  this.timeout(600_000);
  const templates = tempDir('backup-crash-template');
  const backupTemplate = join(templates.dir, 'backup');
  const incrementTemplate = join(templates.dir, 'increment');
  const restoreTemplate = join(templates.dir, 'restore');
  const backedUp = image(BACKUP_SCOPES, () => Array.from({ length: BACKUP_KEYS_PER_SCOPE }, (_, i) => [`k${i}`, { i, pad: pad() }]));
  const added = image(BACKUP_SCOPES, () => Array.from({ length: ADDED_KEYS_PER_SCOPE }, (_, i) => [`m${i}`, { i, pad: pad() }]));
  const keysOf = (side: 'A' | 'B', only: string) => () =>
    Array.from({ length: RESTORE_KEYS_PER_SCOPE }, (_, i): [string, unknown] => (i % 4 === 0 ? [`${only}${i}`, { side, i, pad: pad() }] : [`k${i}`, { side, i, pad: pad() }]));
  const stateA = image(RESTORE_SCOPES, keysOf('A', 'a'));
  const stateB = image(RESTORE_SCOPES, keysOf('B', 'b'));
  const scopesRestored: StateImage = new Map([...stateA].map(([scope, entries]) => [scope, RESTORED_SCOPES.includes(scope) ? stateB.get(scope)! : entries]));
  let backupB = '';
  const random = seededRandom(SEED);

  before(async () => {
    // 10k values of about 1 KiB; the increment's template adds 5k more after a full backup.
    let rt = await createRuntime({ dataDir: backupTemplate });
    await writeAll(rt, backedUp);
    await rt.close();
    await cp(backupTemplate, incrementTemplate, { recursive: true });
    rt = await createRuntime({ dataDir: incrementTemplate });
    await rt.backups.create();
    await writeAll(rt, added);
    await rt.close();
    // State B is backed up, then replaced by state A (shared keys with other values, and keys of its own).
    rt = await createRuntime({ dataDir: restoreTemplate });
    await writeAll(rt, stateB);
    backupB = (await rt.backups.create()).id;
    for (const scope of RESTORE_SCOPES) await rt.state.clearScope(scope);
    await writeAll(rt, stateA);
    assert.equal(difference(await readImage(rt, RESTORE_SCOPES), stateA), undefined);
    await rt.close();
  });
  after(() => templates.cleanup());

  /** Copies a template into a fresh data directory, runs the child there and kills it. */
  async function killedRun(template: string, request: Omit<ChildRequest, 'dataDir'>, plan: KillPlan): Promise<{ run: ChildRun; dataDir: string; cleanup: () => void }> {
    const { dir, cleanup } = tempDir('backup-crash-round');
    await cp(template, dir, { recursive: true });
    const run = await runAndKill({ ...request, dataDir: dir }, plan);
    return { run, dataDir: dir, cleanup };
  }

  for (const mode of ['full', 'incremental'] as const) {
    it(`${mode === 'full' ? 'a full' : 'an incremental'} backup killed at any point loses no acknowledged write, lists no partial backup, and the next backup verifies`, async () => {
      const template = mode === 'full' ? backupTemplate : incrementTemplate;
      const expected = mode === 'full' ? backedUp : new Map([...backedUp].map(([scope, entries]) => [scope, new Map([...entries, ...added.get(scope)!])]));
      const runs: ChildRun[] = [];
      let calibration: ChildRun['timeline'] = [];
      const points = ['progress', 'file-renaming', 'file-renamed'];
      for (const { plan, pauseAt, label } of plans(points, () => calibration, random)) {
        const { run, dataDir, cleanup } = await killedRun(template, { mode, ...(pauseAt === undefined ? {} : { pauseAt }) }, plan);
        if (pauseAt === 'done') calibration = run.timeline;
        else runs.push(run);
        try {
          const rt = await createRuntime({ dataDir });
          try {
            const live = Scope.custom('live');
            const acknowledged = await Promise.all(run.acks.map((n) => rt.state.get(live, `l${n}`)));
            run.acks.forEach((n, i) => assert.deepEqual(acknowledged[i], { n }, `killed ${label}: the acknowledged write l${n} is missing`));
            // A backup only reads: what was there before is there, counted whole and sampled by value.
            assert.equal(difference(await readImage(rt, BACKUP_SCOPES, 25), expected), undefined, `killed ${label}: the backed-up state changed`);
            const listed = await rt.backups.list();
            const base = mode === 'full' ? 0 : 1;
            assert.ok(listed.length === base || listed.length === base + 1, `killed ${label}: list() shows ${listed.map((b) => b.id).join(', ')}`);
            assert.equal(listed.length, base + renamedInto(run, listed.length - base), `killed ${label}: list() shows ${listed.map((b) => b.id).join(', ')}`);
            for (const backup of listed) await rt.backups.verify(backup.id);
            const partials = async () => (await readdir(join(dataDir, 'backups'))).filter((name) => name.endsWith('.partial'));
            if (pauseAt === 'file-renaming') assert.equal((await partials()).length, 1, 'the killed backup left its .partial file');
            // Uncompressed, to keep the rounds short: the killed backups were brotli, the default.
            const next = await rt.backups.create({ incremental: mode === 'incremental', compression: 'none' });
            const verified = await rt.backups.verify(next.id);
            assert.equal(verified.chain.length, mode === 'full' ? 1 : listed.length + 1);
            assert.deepEqual(await partials(), [], `killed ${label}: create() left partial files`);
          } finally {
            await rt.close();
          }
        } finally {
          cleanup();
        }
        if (pauseAt !== undefined) assert.equal(run.landed, pauseAt, `the child did not reach ${pauseAt}`);
      }
      console.log(`      ${mode} backup (${timelineText(calibration)}), kills by point: ${tally(runs)}`);
    });
  }

  it('a full restore killed at any point leaves entirely the old state or entirely the restored one, a sound store, and one store directory', async () => {
    const runs: ChildRun[] = [];
    const outcomes = new Map<string, number>();
    let calibration: ChildRun['timeline'] = [];
    // In the order the restore passes them; from `switched` on, the restored state is the store's.
    const points = ['preparing', 'progress', 'staged', 'file-renaming', 'file-renamed', 'switching', 'switched', 'cleanup'];
    const afterSwitch = new Set(['switched', 'cleanup', 'done', 'idle']);
    for (const { plan, pauseAt, label } of plans(points, () => calibration, random)) {
      const { run, dataDir, cleanup } = await killedRun(restoreTemplate, { mode: 'restore', id: backupB, ...(pauseAt === undefined ? {} : { pauseAt }) }, plan);
      if (pauseAt === 'done') calibration = run.timeline;
      else runs.push(run);
      try {
        const rt = await createRuntime({ dataDir });
        let side: 'A' | 'B';
        try {
          const state = await readImage(rt, RESTORE_SCOPES);
          const fromA = difference(state, stateA);
          const fromB = difference(state, stateB);
          assert.ok(fromA === undefined || fromB === undefined, `killed ${label} (last point ${run.landed}): a mix of the two states: unlike A, ${fromA}; unlike B, ${fromB}`);
          side = fromA === undefined ? 'A' : 'B';
          // Backup B, and the safety backup once it was renamed into place: never the partial one.
          const listed = await rt.backups.list();
          assert.equal(listed.length, 1 + renamedInto(run, listed.length - 1), `killed ${label}: list() shows ${listed.map((b) => `${b.id} (${b.reason})`).join(', ')}`);
          const { stores, active, pointerTemp } = await storeDirectories(dataDir);
          assert.deepEqual(stores, [active], `killed ${label}: the data directory holds ${stores.join(', ')}`);
          assert.equal(pointerTemp, false, `killed ${label}: STORE.next is left`);
        } finally {
          await rt.close();
        }
        const report = await verifyStore({ dataDir });
        assert.deepEqual(report.problems, [], `killed ${label}: verify found problems`);
        assert.equal(report.ok, true);
        if (pauseAt !== undefined) {
          assert.equal(run.landed, pauseAt, `the child did not reach ${pauseAt}`);
          assert.equal(side, afterSwitch.has(pauseAt) ? 'B' : 'A', `killed at ${pauseAt}`);
        }
        outcomes.set(side, (outcomes.get(side) ?? 0) + 1);
      } finally {
        cleanup();
      }
    }
    console.log(`      full restore (${timelineText(calibration)}), kills by point: ${tally(runs)}; state after: ${[...outcomes].map(([side, n]) => `${side} ${n}`).join(', ')}`);
  });

  it('a restore of scopes killed at any point leaves the store entirely as before or entirely as after, and sound', async () => {
    const runs: ChildRun[] = [];
    const outcomes = new Map<string, number>();
    let calibration: ChildRun['timeline'] = [];
    const points = ['progress', 'staged', 'file-renaming', 'file-renamed', 'batching', 'batched'];
    const afterBatch = new Set(['batched', 'done', 'idle']);
    for (const { plan, pauseAt, label } of plans(points, () => calibration, random)) {
      const request = { mode: 'scopes', id: backupB, scopes: RESTORED_SCOPES, ...(pauseAt === undefined ? {} : { pauseAt }) } as const;
      const { run, dataDir, cleanup } = await killedRun(restoreTemplate, request, plan);
      if (pauseAt === 'done') calibration = run.timeline;
      else runs.push(run);
      try {
        const rt = await createRuntime({ dataDir });
        let side: 'before' | 'after';
        try {
          const state = await readImage(rt, RESTORE_SCOPES);
          const fromBefore = difference(state, stateA);
          const fromAfter = difference(state, scopesRestored);
          assert.ok(fromBefore === undefined || fromAfter === undefined, `killed ${label} (last point ${run.landed}): a mix: unlike before, ${fromBefore}; unlike after, ${fromAfter}`);
          side = fromBefore === undefined ? 'before' : 'after';
          const { stores, active } = await storeDirectories(dataDir);
          assert.deepEqual(stores, [active]);
        } finally {
          await rt.close();
        }
        const report = await verifyStore({ dataDir });
        assert.deepEqual(report.problems, [], `killed ${label}: verify found problems`);
        if (pauseAt !== undefined) {
          assert.equal(run.landed, pauseAt, `the child did not reach ${pauseAt}`);
          assert.equal(side, afterBatch.has(pauseAt) ? 'after' : 'before', `killed at ${pauseAt}`);
        }
        outcomes.set(side, (outcomes.get(side) ?? 0) + 1);
      } finally {
        cleanup();
      }
    }
    console.log(`      restore of scopes (${timelineText(calibration)}), kills by point: ${tally(runs)}; state after: ${[...outcomes].map(([side, n]) => `${side} ${n}`).join(', ')}`);
  });
});
