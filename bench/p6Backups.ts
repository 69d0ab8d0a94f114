/**
 * P6: backups of a store of 1M keys of about 200 B of agent-like data (bench/agentData.ts), written
 * through the runtime in transactions of 100 keys per agent, 64 in flight.
 *
 * - Full backup (`rt.backups.create()`, brotli, not encrypted), against iterating the same LevelDB
 *   directory (every sublevel) and compressing with the same codec and level. Goal ≤ 10 s.
 * - Compression: 1 − file bytes / key+value bytes backed up. Goal ≥ 70 %.
 * - Restore (`rt.backups.restore({ id })` of that full backup, safety backup and switch included),
 *   against decompressing the raw file and writing its records into a fresh classic-level in batches.
 *   Goal ≤ 15 s.
 * - Incremental backup after 1 % of the keys changed. Goal ≤ 5 % of the full backup's time.
 * - Write throughput (64 `set`s in flight) during a full backup, against the same load without one,
 *   measured before and after it. Goal ≥ 0.8×.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { agentRecord, agentRecordKey } from './agentData.js';
import { createRuntime, Scope, type Runtime } from './common.js';
import { elapsedNs, fmtNs, fmtRate, fmtRatio, gc, inFlight, now, rng, tempDir, type BenchContext, type BenchResult, type ResultRow } from './harness.js';
import { rawBackup, rawRestore } from './rawBackup.js';
import { activeStoreDir, compact } from './storeDir.js';

const FULL_GOAL_NS = 10e9;
const RESTORE_GOAL_NS = 15e9;
const COMPRESSION_GOAL = 0.7;
const INCREMENTAL_GOAL = 0.05;
const THROUGHPUT_GOAL = 0.8;
const KEYS_PER_AGENT = 100;
const IN_FLIGHT = 64;
const LOAD_VALUES = 1_024;
const MB = 1e6;
/** The longest the write-throughput comparison runs each of its three loads. */
const WINDOW_NS = 8e9;

interface Layout {
  keys: number;
  agents: number;
  scopes: Scope[];
  /** Key i lives in agent ⌊i / 100⌋ under turn i mod 100. */
  slot(i: number): { scope: Scope; key: string; turn: number };
}

function layout(keys: number): Layout {
  const agents = Math.ceil(keys / KEYS_PER_AGENT);
  const scopes = Array.from({ length: agents }, (_, a) => Scope.agent(`agent-${a}`));
  return {
    keys,
    agents,
    scopes,
    slot: (i) => ({ scope: scopes[Math.floor(i / KEYS_PER_AGENT)], key: agentRecordKey(i % KEYS_PER_AGENT), turn: i % KEYS_PER_AGENT }),
  };
}

/** Every key, one transaction per agent, 64 transactions in flight. */
async function fill(rt: Runtime, shape: Layout, ctx: BenchContext): Promise<void> {
  let last = now();
  await inFlight(IN_FLIGHT, shape.agents, async (a) => {
    const first = a * KEYS_PER_AGENT;
    const end = Math.min(shape.keys, first + KEYS_PER_AGENT);
    await rt.state.transaction(shape.scopes[a], (tx) => {
      for (let i = first; i < end; i++) tx.set(agentRecordKey(i - first), agentRecord(i, i - first));
    });
    if ((a + 1) % 2_000 === 0) {
      ctx.log(`P6 fill: ${end}/${shape.keys} (${fmtRate(((2_000 * KEYS_PER_AGENT) / elapsedNs(last)) * 1e9)})`);
      last = now();
    }
  });
}

/** 64 writers overwrite random keys with new records until `stop()` holds; the sets done and the time they took. */
async function writeUntil(rt: Runtime, shape: Layout, stop: () => boolean, seed: number): Promise<{ sets: number; ns: number }> {
  const random = rng(seed);
  const values = Array.from({ length: LOAD_VALUES }, (_, i) => agentRecord(shape.keys + seed * LOAD_VALUES + i, i % KEYS_PER_AGENT));
  let sets = 0;
  const start = now();
  const writer = async () => {
    while (!stop()) {
      const { scope, key } = shape.slot((random() * shape.keys) | 0);
      await rt.state.set(scope, key, values[sets & (LOAD_VALUES - 1)]);
      sets++;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, writer));
  return { sets, ns: elapsedNs(start) };
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ns: number }> {
  gc();
  const start = now();
  const value = await fn();
  return { value, ns: elapsedNs(start) };
}

const pct = (fraction: number) => `${(fraction * 100).toFixed(1)} %`;

export async function p6Backups(ctx: BenchContext): Promise<BenchResult> {
  const keys = ctx.keys ?? (ctx.quick ? 100_000 : 1_000_000);
  const shape = layout(keys);
  const work = await tempDir('p6');
  const dataDir = join(work.dir, 'data');
  const backupDir = join(work.dir, 'backups');
  const open = () => createRuntime({ dataDir, backups: { dir: backupDir } });
  let rt: Runtime | undefined;
  try {
    // ---- fill, through the runtime -------------------------------------------------------------------
    rt = await open();
    const built = await timed(() => fill(rt!, shape, ctx));
    await rt.close();
    rt = undefined;
    ctx.log(`P6 filled ${keys} keys in ${fmtNs(built.ns)}`);

    // ---- raw references, on the same LevelDB directory (the runtime is closed: LevelDB locks it) -----
    const storeDir = await activeStoreDir(dataDir);
    // The fill leaves compactions pending, which would run during whichever side is measured first.
    const compacted = await timed(() => compact(storeDir));
    ctx.log(`P6 compacted the store in ${fmtNs(compacted.ns)}`);
    const rawFile = join(work.dir, 'raw.bin');
    const raw = await timed(() => rawBackup(storeDir, rawFile));
    ctx.log(`P6 raw backup: ${fmtNs(raw.ns)}, ${raw.value.records} records, ${(raw.value.inputBytes / MB).toFixed(0)} MB → ${(raw.value.fileBytes / MB).toFixed(1)} MB`);
    const rawRestoreDir = join(work.dir, 'raw-restore');
    const rawRestored = await timed(() => rawRestore(rawFile, rawRestoreDir));
    await rm(rawRestoreDir, { recursive: true, force: true });
    ctx.log(`P6 raw restore: ${fmtNs(rawRestored.ns)}, ${rawRestored.value} records`);

    // ---- full backup ---------------------------------------------------------------------------------
    rt = await open();
    let backedUpBytes = 0;
    const full = await timed(() => rt!.backups.create({ onProgress: (p) => (backedUpBytes = p.bytes) }));
    const saved = 1 - full.value.bytes / backedUpBytes;
    ctx.log(`P6 full backup: ${fmtNs(full.ns)}, ${full.value.records} records, ${(backedUpBytes / MB).toFixed(0)} MB → ${(full.value.bytes / MB).toFixed(1)} MB`);

    // ---- incremental backup after 1 % of the keys changed ----------------------------------------------
    const changed = Math.max(1, Math.round(keys / 100));
    const changeRandom = rng(6);
    const changedKeys = Array.from({ length: changed }, () => (changeRandom() * keys) | 0);
    await inFlight(IN_FLIGHT, changed, (j) => {
      const { scope, key, turn } = shape.slot(changedKeys[j]);
      return rt!.state.set(scope, key, agentRecord(keys + j, turn));
    });
    const incremental = await timed(() => rt!.backups.create({ incremental: true }));
    ctx.log(`P6 incremental backup: ${fmtNs(incremental.ns)}, ${incremental.value.records} records, ${(incremental.value.bytes / MB).toFixed(2)} MB`);

    // ---- restore the full backup -----------------------------------------------------------------------
    let readEnd = 0n;
    gc();
    const restoreStart = now();
    const restoredResult = await rt.backups.restore({
      id: full.value.id,
      onProgress: (p) => {
        if (p.phase === 'restore') readEnd = now();
      },
    });
    const restored = { value: restoredResult, ns: elapsedNs(restoreStart) };
    const readNs = readEnd === 0n ? Number.NaN : elapsedNs(restoreStart, readEnd);
    const probe = shape.slot(changedKeys[0]);
    const back = await rt.state.get(probe.scope, probe.key);
    if (JSON.stringify(back) !== JSON.stringify(agentRecord(changedKeys[0], probe.turn))) {
      throw new Error(`P6: after the restore, ${probe.scope}/${probe.key} does not hold its value as of the full backup`);
    }
    ctx.log(`P6 restore: ${fmtNs(restored.ns)} (reading into staging ${fmtNs(readNs)}), ${restored.value.records} records`);

    // ---- write throughput during a full backup -----------------------------------------------------
    // Each of the three loads runs for as long as the unloaded backup took, at most WINDOW_NS, so that
    // they are equally long and the run stays short; past the window the loaded backup ends unloaded.
    const windowNs = Math.min(full.ns, WINDOW_NS);
    const forWindow = () => {
      const end = now() + BigInt(Math.round(windowNs));
      return () => now() >= end;
    };
    gc();
    const before = await writeUntil(rt, shape, forWindow(), 1);
    gc();
    let backingUp = true;
    const loadedStart = now();
    const loadedBackup = rt.backups.create().finally(() => (backingUp = false));
    const windowEnds = forWindow();
    const during = await writeUntil(rt, shape, () => !backingUp || windowEnds(), 2);
    const loaded = await loadedBackup;
    const loadedNs = elapsedNs(loadedStart);
    gc();
    const after = await writeUntil(rt, shape, forWindow(), 3);
    const rate = (run: { sets: number; ns: number }) => (run.sets / run.ns) * 1e9;
    const withoutRate = (rate(before) + rate(after)) / 2;
    const duringRate = rate(during);
    ctx.log(`P6 writes: ${fmtRate(rate(before))} before, ${fmtRate(duringRate)} during a backup (${fmtNs(loadedNs)}), ${fmtRate(rate(after))} after`);

    const rows: ResultRow[] = [
      {
        id: 'P6',
        metric: 'full backup',
        ours: fmtNs(full.ns),
        raw: fmtNs(raw.ns),
        ratio: fmtRatio(full.ns / raw.ns),
        goal: `≤ ${fmtNs(FULL_GOAL_NS)}`,
        pass: full.ns <= FULL_GOAL_NS,
      },
      {
        id: 'P6',
        metric: 'compression (saved)',
        ours: pct(saved),
        raw: pct(1 - raw.value.fileBytes / raw.value.inputBytes),
        ratio: '',
        goal: `≥ ${pct(COMPRESSION_GOAL)}`,
        pass: saved >= COMPRESSION_GOAL,
      },
      {
        id: 'P6',
        metric: 'restore',
        ours: fmtNs(restored.ns),
        raw: fmtNs(rawRestored.ns),
        ratio: fmtRatio(restored.ns / rawRestored.ns),
        goal: `≤ ${fmtNs(RESTORE_GOAL_NS)}`,
        pass: restored.ns <= RESTORE_GOAL_NS,
      },
      { id: 'P6', metric: 'of which reading into staging', ours: fmtNs(readNs), raw: '', ratio: '', goal: '(info)' },
      {
        id: 'P6',
        metric: 'incremental after 1 % changed',
        ours: `${fmtNs(incremental.ns)} (${pct(incremental.ns / full.ns)} of full)`,
        raw: '',
        ratio: fmtRatio(incremental.ns / full.ns),
        goal: `≤ ${pct(INCREMENTAL_GOAL)} of full`,
        pass: incremental.ns <= INCREMENTAL_GOAL * full.ns,
      },
      {
        id: 'P6',
        metric: 'writes during a backup',
        ours: fmtRate(duringRate),
        raw: `${fmtRate(withoutRate)} without`,
        ratio: fmtRatio(duringRate / withoutRate),
        goal: `≥ ${THROUGHPUT_GOAL}×`,
        pass: duringRate >= THROUGHPUT_GOAL * withoutRate,
      },
      { id: 'P6', metric: 'full backup with writes going on', ours: fmtNs(loadedNs), raw: '', ratio: fmtRatio(loadedNs / full.ns), goal: '(info)' },
      { id: 'P6', metric: 'fill', ours: `${fmtNs(built.ns)} (${fmtRate((keys / built.ns) * 1e9)})`, raw: '', ratio: '', goal: '(info)' },
    ];
    return {
      id: 'P6',
      title: `backups of ${keys.toLocaleString('en')} keys of agent-like data`,
      rows,
      notes: [
        `Filled through rt.state.transaction: ${shape.agents} agents × ${KEYS_PER_AGENT} keys, ${IN_FLIGHT} transactions in flight; values are about 200 B of JSON (bench/agentData.ts).`,
        `Full backup: ${full.value.records} records (state, event log and its indexes, …), ${(backedUpBytes / MB).toFixed(0)} MB of keys and values → ${(full.value.bytes / MB).toFixed(1)} MB (brotli).`,
        `Raw: ${raw.value.records} LevelDB entries (every sublevel), ${(raw.value.inputBytes / MB).toFixed(0)} MB → ${(raw.value.fileBytes / MB).toFixed(1)} MB, iterated in nextv(1000) steps, brotli at the same quality, written and fsynced.`,
        `Incremental: ${changed} keys changed by single sets (${IN_FLIGHT} in flight), then ${incremental.value.records} records, ${(incremental.value.bytes / MB).toFixed(2)} MB.`,
        `Restore of the full backup (${restored.value.records} records): reading it into a staging store, then a safety backup (incremental) and the switch. Raw: decompress + db.batch of up to 2,048 puts or 4 MiB (as the runtime batches) into a fresh store.`,
        `Writes: random overwrites by ${IN_FLIGHT} writers; without a backup ${fmtRate(rate(before))} before and ${fmtRate(rate(after))} after (each for ${fmtNs(windowNs)}), during it ${fmtRate(duringRate)} (${during.sets} sets in ${fmtNs(during.ns)}); that backup held ${loaded.records} records.`,
      ],
      data: {
        keys,
        agents: shape.agents,
        fillNs: built.ns,
        fullNs: full.ns,
        fullBytes: full.value.bytes,
        fullRecords: full.value.records,
        backedUpBytes,
        saved,
        rawNs: raw.ns,
        rawRecords: raw.value.records,
        rawInputBytes: raw.value.inputBytes,
        rawFileBytes: raw.value.fileBytes,
        rawSaved: 1 - raw.value.fileBytes / raw.value.inputBytes,
        incrementalNs: incremental.ns,
        incrementalRecords: incremental.value.records,
        incrementalBytes: incremental.value.bytes,
        restoreNs: restored.ns,
        restoreReadNs: readNs,
        restoreRecords: restored.value.records,
        rawRestoreNs: rawRestored.ns,
        writesBefore: before,
        writesDuring: during,
        writesAfter: after,
        withoutRate,
        duringRate,
        loadedBackupNs: loadedNs,
      },
    };
  } finally {
    await rt?.close();
    await work.remove();
  }
}
