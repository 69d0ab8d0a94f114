/**
 * P7: migrations. 1M profiles of about 200 B (bench/agentData.ts), bound to schema `profile` 1.0.0 and
 * spread over 1,000 agents × 1,000 keys, are written once through the runtime (timed, but not part of
 * P7), and the store is compacted and kept aside. Each repetition then, in alternating order:
 *
 * - migrates a copy of it to 2.0.0 (renameField, convert, addField) with
 *   `rt.migrations.run({ schema: 'profile', backup: false })`: P7 is records migrated per second;
 * - runs the raw reference on another copy: classic-level iterating the same records 1,000 at a time,
 *   JSON.parse, the same three changes by hand, JSON.stringify, and a batch of 1,000 puts of the bytes
 *   the runtime would store.
 *
 * Once per run, a further copy is migrated with the default backup first. Goal: 100k records/s.
 */
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { agentProfile } from './agentData.js';
import { createRuntime, Scope, type Runtime } from './common.js';
import { cpuNs, elapsedNs, fmtNs, fmtRate, fmtRatio, gc, inFlight, median, now, openRaw, tempDir, withTempDir, type BenchContext, type BenchResult } from './harness.js';
import { activeStoreDir, compact } from './storeDir.js';
import { index, recordEnvelope } from './subject.js';

const GOAL = 100_000;
const AGENTS = 1_000;
const TRANSACTION_KEYS = 100;
const IN_FLIGHT = 64;
const RAW_BATCH = 1_000;
export const SCHEMA = 'profile';
const TARGET_REF = `${SCHEMA}@2.0.0`;

const PROFILE_V1 = z.object({ id: z.string(), name: z.string(), age: z.string(), city: z.string(), bio: z.string(), updatedAt: z.number() });
const PROFILE_V2 = z.object({ id: z.string(), fullName: z.string(), age: z.number(), city: z.string(), bio: z.string(), updatedAt: z.number(), tags: z.array(z.string()) });

/** The `k`th profile an agent keeps. */
const profileKey = (k: number): string => `profile/${String(k).padStart(4, '0')}`;

export interface Layout {
  records: number;
  keysPerAgent: number;
  scopes: Scope[];
}

export function layout(records: number): Layout {
  return { records, keysPerAgent: Math.ceil(records / AGENTS), scopes: Array.from({ length: AGENTS }, (_, a) => Scope.agent(`agent-${a}`)) };
}

/** Version 1, bound to every agent's `profile/…` keys: what the store is written with. */
export async function registerV1(rt: Runtime): Promise<void> {
  await rt.schemas.register({ name: SCHEMA, version: '1.0.0', schema: PROFILE_V1 });
  await rt.schemas.bind(SCHEMA, { scopeKind: 'agent', keyPrefix: 'profile/' });
}

/** Version 2 and the migration to it, as an application's next release would register them. */
export async function registerV2(rt: Runtime): Promise<void> {
  await registerV1(rt);
  await rt.schemas.register({ name: SCHEMA, version: '2.0.0', schema: PROFILE_V2 });
  const { renameField, convert, addField } = index.steps;
  await rt.migrations.define({ schema: SCHEMA, from: '1.0.0', to: '2.0.0', steps: [renameField('name', 'fullName'), convert('age', 'number'), addField('tags', [])] });
}

/** Every profile, through the runtime: transactions of 100 keys of one agent, 64 in flight. */
export async function fill(rt: Runtime, shape: Layout, ctx: Pick<BenchContext, 'log'>): Promise<void> {
  const chunksPerAgent = Math.ceil(shape.keysPerAgent / TRANSACTION_KEYS);
  let written = 0;
  let logged = 0;
  let last = now();
  await inFlight(IN_FLIGHT, AGENTS * chunksPerAgent, async (c) => {
    const agent = Math.floor(c / chunksPerAgent);
    const firstKey = (c % chunksPerAgent) * TRANSACTION_KEYS;
    const endKey = Math.min(shape.keysPerAgent, firstKey + TRANSACTION_KEYS);
    const base = agent * shape.keysPerAgent;
    if (base + firstKey >= shape.records) return;
    const end = Math.min(endKey, shape.records - base);
    await rt.state.transaction(shape.scopes[agent], (tx) => {
      for (let k = firstKey; k < end; k++) tx.set(profileKey(k), agentProfile(base + k));
    });
    written += end - firstKey;
    if (written - logged >= 100_000) {
      ctx.log(`P7 fill: ${written}/${shape.records} (${fmtRate(((written - logged) / elapsedNs(last)) * 1e9)})`);
      logged = written;
      last = now();
    }
  });
}

/** The three changes of the migration, by hand. */
function migrateByHand(profile: Record<string, unknown>): Record<string, unknown> {
  const { name, ...rest } = profile;
  const age = Number(profile.age);
  if (!Number.isFinite(age)) throw new Error(`P7 raw: cannot convert age ${String(profile.age)}`);
  return { ...rest, fullName: name, age, tags: profile.tags ?? [] };
}

const STATE_START = Buffer.from('!state!', 'utf8');
const STATE_END = Buffer.from('!state"', 'utf8');

/** The raw reference: reads, changes and rewrites every state record of the store in `storeDir`; resolves with their count. */
async function rawMigrate(storeDir: string): Promise<number> {
  const db = await openRaw(storeDir);
  try {
    const iterator = db.iterator({ gte: STATE_START, lt: STATE_END });
    let records = 0;
    try {
      for (let entries = await iterator.nextv(RAW_BATCH); entries.length > 0; entries = await iterator.nextv(RAW_BATCH)) {
        const batch = db.batch();
        const timestamp = Date.now();
        for (const [key, value] of entries) {
          const { seq, payload } = recordEnvelope.decodeRecord(value);
          const after = migrateByHand(JSON.parse(payload.toString('utf8')) as Record<string, unknown>);
          batch.put(key, recordEnvelope.encodeRecord({ seq, timestamp, schema: TARGET_REF }, JSON.stringify(after)));
        }
        await batch.write();
        records += entries.length;
      }
    } finally {
      await iterator.close();
    }
    return records;
  } finally {
    await db.close();
  }
}

interface Timed {
  ns: number;
  /** Process CPU time (all threads). */
  cpuNs: number;
  records: number;
}

/** Runs `fn` on a fresh copy of the data directory `pristine`, which is removed afterwards. */
function onCopy<T>(pristine: string, label: string, fn: (dataDir: string) => Promise<T>): Promise<T> {
  return withTempDir(label, async (dataDir) => {
    await cp(pristine, dataDir, { recursive: true });
    return fn(dataDir);
  });
}

async function timed(fn: () => Promise<number>): Promise<Timed> {
  gc();
  const cpu = cpuNs();
  const start = now();
  const records = await fn();
  return { ns: elapsedNs(start), cpuNs: cpuNs() - cpu, records };
}

/** Checks that a migrated store holds a profile at version 2, so that no side is timed doing nothing. */
async function expectMigrated(rt: Runtime, shape: Layout): Promise<void> {
  const i = shape.records - 1;
  const value = (await rt.state.get(shape.scopes[Math.floor(i / shape.keysPerAgent)], profileKey(i % shape.keysPerAgent))) as Record<string, unknown> | undefined;
  const expected = migrateByHand(agentProfile(i));
  if (JSON.stringify(value) !== JSON.stringify(expected)) throw new Error(`P7: after the migration, profile ${i} is ${JSON.stringify(value)}, not ${JSON.stringify(expected)}`);
}

interface Phases {
  /** From the call until the first record migrated: the backup, and counting the records. */
  beforeMigrateNs: number;
  /** Migrating into the journal. */
  migrateNs: number;
  /** The commit, and applying the journal through the actors. */
  applyNs: number;
}

/** Migrates a copy with `rt.migrations.run`; with `backup`, the default backup first, and the phases timed. */
async function runtimeMigrate(pristine: string, shape: Layout, backup: boolean): Promise<{ run: Timed; phases?: Phases }> {
  return onCopy(pristine, 'p7run', async (dataDir) => {
    const rt = await createRuntime({ dataDir });
    try {
      await registerV2(rt);
      let start = 0n;
      let firstMigrated = 0n;
      let lastMigrated = 0n;
      const onProgress = (progress: { phase: string; done: number; total: number }) => {
        if (progress.phase !== 'migrate') return;
        if (firstMigrated === 0n) firstMigrated = now();
        if (progress.done === progress.total) lastMigrated = now();
      };
      const run = await timed(async () => {
        start = now();
        const result = await rt.migrations.run(backup ? { schema: SCHEMA, onProgress } : { schema: SCHEMA, backup: false });
        if (result.migrated !== shape.records) throw new Error(`P7: the migration changed ${result.migrated} records, not ${shape.records}`);
        if (backup && result.backupId === undefined) throw new Error('P7: the migration took no backup');
        return result.migrated;
      });
      await expectMigrated(rt, shape);
      if (!backup) return { run };
      const end = start + BigInt(Math.round(run.ns));
      return { run, phases: { beforeMigrateNs: elapsedNs(start, firstMigrated), migrateNs: elapsedNs(firstMigrated, lastMigrated), applyNs: elapsedNs(lastMigrated, end) } };
    } finally {
      await rt.close();
    }
  });
}

export async function p7Migrations(ctx: BenchContext): Promise<BenchResult> {
  const began = now();
  const shape = layout(ctx.records ?? (ctx.quick ? 100_000 : 1_000_000));
  const work = await tempDir('p7');
  const pristine = join(work.dir, 'data');
  try {
    // ---- the store at version 1, written once, through the runtime ----------------------------------
    const rt = await createRuntime({ dataDir: pristine });
    let fillNs: number;
    try {
      await registerV1(rt);
      gc();
      const start = now();
      await fill(rt, shape, ctx);
      fillNs = elapsedNs(start);
    } finally {
      await rt.close();
    }
    ctx.log(`P7 wrote ${shape.records} profiles in ${fmtNs(fillNs)}`);
    const storeDir = await activeStoreDir(pristine);
    await compact(storeDir);
    const storeName = storeDir.slice(pristine.length + 1);

    // ---- the migration, and the raw reference, each on its own copy ----------------------------------
    const ours: Timed[] = [];
    const raw: Timed[] = [];
    for (let rep = 0; rep < ctx.reps; rep++) {
      const runOurs = async () => {
        ours.push((await runtimeMigrate(pristine, shape, false)).run);
      };
      const runRaw = async () => {
        raw.push(await onCopy(pristine, 'p7raw', (dataDir) => timed(() => rawMigrate(join(dataDir, storeName)))));
        if (raw.at(-1)!.records !== shape.records) throw new Error(`P7 raw: read ${raw.at(-1)!.records} records, not ${shape.records}`);
      };
      if (rep % 2 === 0) {
        await runOurs();
        await runRaw();
      } else {
        await runRaw();
        await runOurs();
      }
      ctx.log(`P7 rep ${rep + 1}/${ctx.reps}: migration ${fmtRate((shape.records / ours.at(-1)!.ns) * 1e9)}, raw ${fmtRate((shape.records / raw.at(-1)!.ns) * 1e9)}`);
    }

    // ---- once: the migration with the default backup first ------------------------------------------
    const withBackup = await runtimeMigrate(pristine, shape, true);
    ctx.log(`P7 with the backup first: ${fmtNs(withBackup.run.ns)}`);

    const rate = (t: Timed) => (t.records / t.ns) * 1e9;
    const oursRate = median(ours.map(rate));
    const rawRate = median(raw.map(rate));
    const oursNs = median(ours.map((t) => t.ns));
    const rawNs = median(raw.map((t) => t.ns));
    const cpuPerRecord = (runs: Timed[]) => median(runs.map((t) => t.cpuNs / t.records));
    const phases = withBackup.phases!;
    const totalNs = elapsedNs(began);
    return {
      id: 'P7',
      title: `migration of ${shape.records.toLocaleString('en')} records to a new schema version (${ctx.reps} reps)`,
      rows: [
        { id: 'P7', metric: 'records migrated/s', ours: fmtRate(oursRate), raw: fmtRate(rawRate), ratio: fmtRatio(oursRate / rawRate), goal: `≥ ${fmtRate(GOAL)}`, pass: oursRate >= GOAL },
        { id: 'P7', metric: 'time, backup: false', ours: fmtNs(oursNs), raw: fmtNs(rawNs), ratio: fmtRatio(oursNs / rawNs), goal: '(info)' },
        { id: 'P7', metric: 'process CPU per record', ours: fmtNs(cpuPerRecord(ours)), raw: fmtNs(cpuPerRecord(raw)), ratio: fmtRatio(cpuPerRecord(ours) / cpuPerRecord(raw)), goal: '(info)' },
        {
          id: 'P7',
          metric: 'with the backup first',
          ours: `${fmtNs(withBackup.run.ns)} (${fmtRate(rate(withBackup.run))})`,
          raw: `${fmtNs(oursNs)} without`,
          ratio: fmtRatio(withBackup.run.ns / oursNs),
          goal: '(info)',
        },
        { id: 'P7', metric: '  until the first record (backup, count)', ours: fmtNs(phases.beforeMigrateNs), raw: '', ratio: '', goal: '(info)' },
        { id: 'P7', metric: '  migrating into the journal', ours: fmtNs(phases.migrateNs), raw: '', ratio: '', goal: '(info)' },
        { id: 'P7', metric: '  commit, and applying the journal', ours: fmtNs(phases.applyNs), raw: '', ratio: '', goal: '(info)' },
        { id: 'P7', metric: 'writing the store (not P7)', ours: `${fmtNs(fillNs)} (${fmtRate((shape.records / fillNs) * 1e9)})`, raw: '', ratio: '', goal: '(info)' },
      ],
      notes: [
        `${shape.records.toLocaleString('en')} profiles of about 200 B of JSON (bench/agentData.ts agentProfile, six fields), bound to ${SCHEMA}@1.0.0 by { scopeKind: 'agent', keyPrefix: 'profile/' },`,
        `  over ${AGENTS.toLocaleString('en')} agent scopes × ${shape.keysPerAgent.toLocaleString('en')} keys, written once per run through rt.state.transaction (${TRANSACTION_KEYS} keys each, ${IN_FLIGHT} in flight), then compacted.`,
        `Migration 1.0.0 → 2.0.0: renameField('name', 'fullName'), convert('age', 'number'), addField('tags', []); each repetition runs on a fresh copy of the store.`,
        `Raw: classic-level on a copy, iterator.nextv(${RAW_BATCH}) over the state records, decode the envelope, JSON.parse, the three changes by hand, JSON.stringify, encode, one chained batch of ${RAW_BATCH} puts.`,
        '"With the backup first" is one run with the default backup (full, into <dataDir>/backups), and onProgress to time its phases (which adds counting the records).',
        `This run of P7 took ${fmtNs(totalNs)} in all (copies of the store included).`,
      ],
      data: {
        records: shape.records,
        agents: AGENTS,
        keysPerAgent: shape.keysPerAgent,
        fillNs,
        ours,
        raw,
        oursRate,
        rawRate,
        withBackup: withBackup.run,
        phases,
        totalNs,
      },
    };
  } finally {
    await work.remove();
  }
}
