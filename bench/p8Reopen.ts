/**
 * P8: a store of 1M keys (about 100 B values over 10k agents) is built through the runtime, closed,
 * and reopened: the time from `createRuntime({ dataDir })` to the first `get` of a random key resolving.
 * Raw: `new ClassicLevel(dir)` + open + first get on a raw store of 1M keys of the same key and value
 * bytes. Goal: ≤ 1 s.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { createRuntime, Scope, storedKey, storedValue, withRuntime } from './common.js';
import {
  elapsedNs,
  fmtNs,
  fmtRate,
  fmtRatio,
  gc,
  inAlternatingOrder,
  inFlight,
  median,
  now,
  openRaw,
  rng,
  sampleValue,
  tempDir,
  type BenchContext,
  type BenchResult,
} from './harness.js';

const GOAL_NS = 1_000_000_000;
const BUILD_IN_FLIGHT = 256;
const RAW_BATCH = 1_000;

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? await dirBytes(path) : (await stat(path)).size;
  }
  return total;
}

export async function p8Reopen(ctx: BenchContext): Promise<BenchResult> {
  const keys = ctx.quick ? 100_000 : 1_000_000;
  const agents = ctx.quick ? 1_000 : 10_000;
  const perAgent = keys / agents;
  const reopens = Math.max(ctx.reps, 3);
  const agentId = (a: number) => `agent-${a}`;
  const keyName = (k: number) => `msg-${k}`;
  // Key i goes to agent i % agents, so consecutive writes spread over every agent.
  const slot = (i: number) => [i % agents, Math.floor(i / agents)] as const;

  const ours = await tempDir('p8');
  const raw = await tempDir('p8raw');
  try {
    // ---- build, through the runtime ------------------------------------------------------------------
    gc();
    const scopes = Array.from({ length: agents }, (_, a) => Scope.agent(agentId(a)));
    const buildStart = now();
    let heapAfterBuild = 0;
    let buildNs = 0;
    await withRuntime(ours.dir, async (rt) => {
      let last = now();
      await inFlight(BUILD_IN_FLIGHT, keys, (i) => {
        const [a, k] = slot(i);
        if ((i + 1) % 200_000 === 0) {
          ctx.log(`P8 build: ${i + 1}/${keys} (${fmtRate((200_000 / elapsedNs(last)) * 1e9)})`);
          last = now();
        }
        return rt.state.set(scopes[a], keyName(k), sampleValue(i));
      });
      // Every set has resolved, so every write is durable: that is the end of the build.
      buildNs = elapsedNs(buildStart);
      gc();
      heapAfterBuild = process.memoryUsage().heapUsed;
    });
    scopes.length = 0;
    gc();

    // ---- build, raw --------------------------------------------------------------------------------
    const rawBuildStart = now();
    {
      const db = await openRaw(raw.dir);
      try {
        const rawScopes = Array.from({ length: agents }, (_, a) => Scope.agent(agentId(a)));
        for (let done = 0; done < keys; done += RAW_BATCH) {
          const ops = [];
          for (let i = done; i < Math.min(keys, done + RAW_BATCH); i++) {
            const [a, k] = slot(i);
            ops.push({ type: 'put' as const, key: storedKey(rawScopes[a], keyName(k)), value: storedValue(sampleValue(i), 1 + done / RAW_BATCH) });
          }
          await db.batch(ops);
        }
      } finally {
        await db.close();
      }
    }
    const rawBuildNs = elapsedNs(rawBuildStart);
    const oursBytes = await dirBytes(ours.dir);
    const rawBytes = await dirBytes(raw.dir);
    ctx.log(`P8 built: runtime ${fmtNs(buildNs)} (${(oursBytes / 1e6).toFixed(0)} MB), raw ${fmtNs(rawBuildNs)} (${(rawBytes / 1e6).toFixed(0)} MB)`);

    // ---- reopen + first get ------------------------------------------------------------------------
    const oursNs: number[] = [];
    const rawNs: number[] = [];
    const oursOpenNs: number[] = [];
    const random = rng(8);
    const runOurs = async () => {
      gc();
      const [a, k] = slot((random() * keys) | 0);
      const start = now();
      const rt = await createRuntime({ dataDir: ours.dir });
      try {
        const opened = elapsedNs(start);
        const value = (await rt.state.get(Scope.agent(agentId(a)), keyName(k))) as { n?: number } | undefined;
        oursNs.push(elapsedNs(start));
        oursOpenNs.push(opened);
        if (value === undefined) throw new Error(`P8: key ${agentId(a)}/${keyName(k)} is missing after reopen`);
      } finally {
        await rt.close();
      }
    };
    const runRaw = async () => {
      gc();
      const [a, k] = slot((random() * keys) | 0);
      const key = storedKey(Scope.agent(agentId(a)), keyName(k));
      const start = now();
      const db = new ClassicLevel<Buffer, Buffer>(raw.dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
      try {
        await db.open();
        const value = await db.get(key);
        rawNs.push(elapsedNs(start));
        if (value === undefined) throw new Error('P8: raw key missing after reopen');
      } finally {
        await db.close();
      }
    };
    for (let rep = 0; rep < reopens; rep++) {
      await inAlternatingOrder(rep, runOurs, runRaw);
      ctx.log(`P8 reopen ${rep + 1}/${reopens}: runtime ${fmtNs(oursNs.at(-1)!)}, raw ${fmtNs(rawNs.at(-1)!)}`);
    }

    const firstOurs = oursNs[0];
    const firstRaw = rawNs[0];
    const o = median(oursNs.slice(1));
    const r = median(rawNs.slice(1));
    return {
      id: 'P8',
      title: `reopen a ${keys / 1e6}M-key store, time to first get (${reopens} reopens)`,
      rows: [
        { id: 'P8', metric: 'first reopen after build', ours: fmtNs(firstOurs), raw: fmtNs(firstRaw), ratio: fmtRatio(firstOurs / firstRaw), goal: `≤ ${fmtNs(GOAL_NS)}`, pass: firstOurs <= GOAL_NS },
        { id: 'P8', metric: 'later reopens (median)', ours: fmtNs(o), raw: fmtNs(r), ratio: fmtRatio(o / r), goal: `≤ ${fmtNs(GOAL_NS)}`, pass: o <= GOAL_NS },
        { id: 'P8', metric: 'of which createRuntime', ours: fmtNs(median(oursOpenNs.slice(1))), raw: '', ratio: '', goal: '(info)' },
        { id: 'P8', metric: 'build', ours: `${fmtNs(buildNs)} (${fmtRate((keys / buildNs) * 1e9)})`, raw: `${fmtNs(rawBuildNs)} (${fmtRate((keys / rawBuildNs) * 1e9)})`, ratio: fmtRatio(buildNs / rawBuildNs), goal: '(info)' },
        { id: 'P8', metric: 'size on disk', ours: `${(oursBytes / 1e6).toFixed(0)} MB`, raw: `${(rawBytes / 1e6).toFixed(0)} MB`, ratio: fmtRatio(oursBytes / rawBytes), goal: '(info)' },
      ],
      notes: [
        `Runtime build: rt.state.set with ${BUILD_IN_FLIGHT} in flight, ${agents} agents × ${perAgent} keys; heap after build (after a full GC, runtime still open) ${(heapAfterBuild / 1e6).toFixed(0)} MB.`,
        `Raw build: db.batch of ${RAW_BATCH} puts of the same key and value bytes (state records only, no event log).`,
        'The OS page cache is warm (same machine, files just written); a cold-cache reopen would be slower for both.',
      ],
      data: { keys, agents, buildNs, rawBuildNs, oursBytes, rawBytes, oursNs, rawNs, oursOpenNs, heapAfterBuild },
    };
  } finally {
    await ours.remove();
    await raw.remove();
  }
}
