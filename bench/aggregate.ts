/**
 * Combines several `bench/run.ts --json FILE` outputs: for each figure, the median over runs of the
 * per-run median, with the range; ratios are taken within each run (same process, same moment) and
 * then their median is reported.
 *
 *   node --import tsx bench/aggregate.ts run1.json run2.json run3.json
 */
import { readFile } from 'node:fs/promises';
import { fmtNs, fmtRate, fmtRatio, median, table } from './harness.js';

interface RunFile {
  machine: string;
  at: string;
  loadBefore?: string;
  loadAfter?: string;
  results: { id: string; data: Record<string, any> }[];
}

type Fig = { label: string; ours: number[]; raw: number[]; fmt: (n: number) => string; goal: string; better: "lower" | "higher"; limit?: number; rawLabel?: string };

const files = process.argv.slice(2);
if (files.length === 0) throw new TypeError('usage: bench/aggregate.ts run1.json run2.json …');
const runs: RunFile[] = await Promise.all(files.map(async (f) => JSON.parse(await readFile(f, 'utf8')) as RunFile));
const figs: Fig[] = [];
const fig = (label: string, fmt: Fig['fmt'], goal: string, better: Fig['better'], limit?: number, rawLabel?: string) => {
  const f: Fig = { label, ours: [], raw: [], fmt, goal, better, limit, rawLabel };
  figs.push(f);
  return f;
};
const byId = (run: RunFile, id: string) => run.results.find((r) => r.id === id)?.data;

const p1 = [fig('P1 set p50 vs put p50', fmtNs, '≤ 1.25×', 'lower', 1.25), fig('P1 set mean vs put mean', fmtNs, '≤ 1.25×', 'lower', 1.25), fig('P1 p99', fmtNs, '(info)', 'lower'), fig('P1 process CPU per op', fmtNs, '(info)', 'lower')];
const p1Bound = [
  fig('P1 bound set p50 vs put p50', fmtNs, '(info)', 'lower'),
  fig('P1 bound set p50 vs unbound set p50', fmtNs, '(info)', 'lower', undefined, 'unbound'),
  fig('P1 bound set mean vs unbound set mean', fmtNs, '(info)', 'lower', undefined, 'unbound'),
  fig('P1 bound process CPU per op vs unbound', fmtNs, '(info)', 'lower', undefined, 'unbound'),
];
const p2 = [
  fig('P2 ops/s vs best raw batch of 100', fmtRate, '≥ 0.5×', 'higher', 0.5),
  fig('P2 ops/s vs raw batch([...])', fmtRate, '(info)', 'higher'),
  fig('P2 ops/s vs raw chained batch', fmtRate, '(info)', 'higher'),
  fig('P2 ops/s vs raw put, 64 in flight', fmtRate, '(info)', 'higher'),
  fig('P2 process CPU per op vs best raw', fmtNs, '(info)', 'lower'),
];
const p2Bound = [
  fig('P2 bound ops/s vs best raw batch of 100', fmtRate, '(info)', 'higher'),
  fig('P2 bound ops/s vs unbound ops/s', fmtRate, '(info)', 'higher', undefined, 'unbound'),
  fig('P2 bound process CPU per op vs unbound', fmtNs, '(info)', 'lower', undefined, 'unbound'),
];
// Present only in runs made with the SQLite peer installed (npm run bench:peers).
const sqlite = [
  fig('P1 set p50 vs SQLite p50', fmtNs, 'aim ≤ 1×', 'lower', 1, 'SQLite'),
  fig('P1 set mean vs SQLite mean', fmtNs, '(info)', 'lower', undefined, 'SQLite'),
  fig('P2 ops/s vs SQLite transactions of 100', fmtRate, 'aim ≥ 1×', 'higher', 1, 'SQLite'),
];
const p3 = [fig('P3 cached get ops/s vs Map.get', fmtRate, '≥ 2M/s', 'higher', undefined, 'Map.get'), fig('P3 get p99 vs Map.get p99', fmtNs, '≤ 10 µs', 'lower', undefined, 'Map.get'), fig('P3 get p50 vs Map.get p50', fmtNs, '(info)', 'lower')];
const p8 = [
  fig('P8 first reopen after build → first get', fmtNs, '≤ 1 s', 'lower'),
  fig('P8 later reopens → first get (median)', fmtNs, '≤ 1 s', 'lower'),
  fig('P8 build of the store', fmtNs, '(info)', 'lower'),
  fig('P8 size on disk (MB)', (n) => `${n.toFixed(0)} MB`, '(info)', 'lower'),
];
const msFmt = (n: number) => (Number.isFinite(n) ? `${n.toFixed(n < 10 ? 1 : 0)} ms` : 'n/a');
const p4 = [
  fig('P4 write ops/s, hook vs no hook (ratio of medians)', fmtRate, '≥ 0.95×', 'higher', 0.95, 'no hook'),
  fig('P4 events delivered/s, write start → idle', fmtRate, '≥ 50k/s', 'higher'),
  fig('P4 events delivered/s, drain after writes', fmtRate, '(info)', 'higher'),
  fig('P4 executions (tasks)/s vs raw piscina, 1 in flight', fmtRate, '(info)', 'higher', undefined, 'piscina'),
  fig('P4 executions (tasks)/s vs raw piscina, 4×threads in flight', fmtRate, '(info)', 'higher', undefined, 'piscina'),
  fig('P4 events per execution', (n) => (Number.isFinite(n) ? n.toFixed(1) : 'n/a'), '(info)', 'higher'),
  fig('P4 dispatch latency p50, under load', msFmt, '(info)', 'lower'),
  fig('P4 dispatch latency p99, under load', msFmt, '(info)', 'lower'),
  fig('P4 dispatch latency p50, one write at a time', msFmt, '(info)', 'lower'),
  fig('P4 dispatch latency p99, one write at a time', msFmt, '(info)', 'lower'),
  fig('P4 process CPU per write, hook vs no hook', fmtNs, '(info)', 'lower', undefined, 'no hook'),
];
const pctFmt = (n: number) => (Number.isFinite(n) ? `${(n * 100).toFixed(1)} %` : 'n/a');
const p6 = [
  fig('P6 full backup vs raw iterate + brotli', fmtNs, '≤ 10 s', 'lower', undefined, 'iterate + brotli'),
  fig('P6 compression (saved) vs the raw stream', pctFmt, '≥ 70 %', 'higher', undefined, 'raw stream'),
  fig('P6 restore vs raw decompress + batches', fmtNs, '≤ 15 s', 'lower', undefined, 'decompress + batches'),
  fig('P6 restore: reading into staging', fmtNs, '(info)', 'lower'),
  fig('P6 incremental after 1 % changed vs full', fmtNs, '≤ 0.05×', 'lower', 0.05, 'full'),
  fig('P6 writes/s during a backup vs without', fmtRate, '≥ 0.8×', 'higher', 0.8, 'without'),
  fig('P6 full backup with writes going on vs without', fmtNs, '(info)', 'lower', undefined, 'without'),
  fig('P6 fill through transactions of 100', fmtNs, '(info)', 'lower'),
];
const p7 = [
  fig('P7 records migrated/s vs raw read + change + batch', fmtRate, '≥ 100k/s', 'higher', undefined, 'raw'),
  fig('P7 process CPU per record vs raw', fmtNs, '(info)', 'lower', undefined, 'raw'),
  fig('P7 run with the backup first vs backup: false', fmtNs, '(info)', 'lower', undefined, 'without'),
  fig('P7 writing the store (not P7)', fmtNs, '(info)', 'lower'),
];
for (const run of runs) {
  const d7 = byId(run, 'P7');
  if (d7) {
    const cpuPerRecord = (runs: any[]) => median(runs.map((t) => t.cpuNs / t.records));
    const rows: [Fig, number, number][] = [
      [p7[0], d7.oursRate, d7.rawRate],
      [p7[1], cpuPerRecord(d7.ours), cpuPerRecord(d7.raw)],
      [p7[2], d7.withBackup.ns, median(d7.ours.map((t: any) => t.ns))],
      [p7[3], d7.fillNs, Number.NaN],
    ];
    for (const [f, o, r] of rows) {
      f.ours.push(o);
      f.raw.push(r);
    }
  }
  const d6 = byId(run, 'P6');
  if (d6) {
    const rows: [Fig, number, number][] = [
      [p6[0], d6.fullNs, d6.rawNs],
      [p6[1], d6.saved, d6.rawSaved],
      [p6[2], d6.restoreNs, d6.rawRestoreNs],
      [p6[3], d6.restoreReadNs, Number.NaN],
      [p6[4], d6.incrementalNs, d6.fullNs],
      [p6[5], d6.duringRate, d6.withoutRate],
      [p6[6], d6.loadedBackupNs, d6.fullNs],
      [p6[7], d6.fillNs, Number.NaN],
    ];
    for (const [f, o, r] of rows) {
      f.ours.push(o);
      f.raw.push(r);
    }
  }
  const d4 = byId(run, 'P4');
  if (d4) {
    const hook: any[] = d4.withHook;
    const none: any[] = d4.noHook;
    const m = (pick: (h: any) => number) => median(hook.map(pick));
    const taskRate = m((h) => (h.executions / h.idleNs) * 1e9);
    const rows: [Fig, number, number][] = [
      [p4[0], m((h) => h.rate), median(none.map((n) => n.rate))],
      [p4[1], m((h) => (h.delivered / h.idleNs) * 1e9), Number.NaN],
      [p4[2], m((h) => ((h.delivered - h.deliveredAtWriteEnd) / Math.max(1, h.idleNs - h.writeNs)) * 1e9), Number.NaN],
      [p4[3], taskRate, median(d4.raw.one)],
      [p4[4], taskRate, median(d4.raw.deep)],
      [p4[5], m((h) => h.delivered / h.executions), Number.NaN],
      [p4[6], m((h) => h.dispatch.p50), Number.NaN],
      [p4[7], m((h) => h.dispatch.p99), Number.NaN],
      [p4[8], m((h) => h.unloaded?.p50 ?? Number.NaN), Number.NaN],
      [p4[9], m((h) => h.unloaded?.p99 ?? Number.NaN), Number.NaN],
      [p4[10], m((h) => h.cpuPerOp), median(none.map((n) => n.cpuPerOp))],
    ];
    for (const [f, o, r] of rows) {
      f.ours.push(o);
      f.raw.push(r);
    }
  }
  const d1 = byId(run, 'P1');
  if (d1) {
    const { ours, raw, oursCpu, rawCpu } = d1.median;
    for (const [f, a, b] of [[p1[0], ours.p50, raw.p50], [p1[1], ours.mean, raw.mean], [p1[2], ours.p99, raw.p99], [p1[3], oursCpu, rawCpu]] as const) {
      f.ours.push(a);
      f.raw.push(b);
    }
    if (d1.median.bound) {
      const { bound, boundCpu } = d1.median;
      for (const [f, a, b] of [[p1Bound[0], bound.p50, raw.p50], [p1Bound[1], bound.p50, ours.p50], [p1Bound[2], bound.mean, ours.mean], [p1Bound[3], boundCpu, oursCpu]] as const) {
        f.ours.push(a);
        f.raw.push(b);
      }
    }
    if (d1.median.sqlite) {
      sqlite[0].ours.push(ours.p50);
      sqlite[0].raw.push(d1.median.sqlite.p50);
      sqlite[1].ours.push(ours.mean);
      sqlite[1].raw.push(d1.median.sqlite.mean);
    }
  }
  const d2 = byId(run, 'P2');
  if (d2) {
    const o = median(d2.ours);
    const a = median(d2.rawArray);
    const c = median(d2.rawChained);
    const p = median(d2.rawInFlight);
    for (const [f, b] of [[p2[0], Math.max(a, c)], [p2[1], a], [p2[2], c], [p2[3], p]] as const) {
      f.ours.push(o);
      f.raw.push(b);
    }
    p2[4].ours.push(median(d2.cpu.ours));
    p2[4].raw.push(median(a >= c ? d2.cpu.array : d2.cpu.chained));
    if (d2.bound?.length > 0) {
      const b = median(d2.bound);
      for (const [f, x, y] of [[p2Bound[0], b, Math.max(a, c)], [p2Bound[1], b, o], [p2Bound[2], median(d2.cpu.bound), median(d2.cpu.ours)]] as const) {
        f.ours.push(x);
        f.raw.push(y);
      }
    }
    if (d2.sqlite?.length > 0) {
      sqlite[2].ours.push(o);
      sqlite[2].raw.push(median(d2.sqlite));
    }
  }
  const d3 = byId(run, 'P3');
  if (d3) {
    p3[0].ours.push(median(d3.oursRate));
    p3[0].raw.push(median(d3.mapRate));
    p3[1].ours.push(median(d3.oursLat.map((s: any) => s.p99)));
    p3[1].raw.push(median(d3.mapLat.map((s: any) => s.p99)));
    p3[2].ours.push(median(d3.oursLat.map((s: any) => s.p50)));
    p3[2].raw.push(median(d3.mapLat.map((s: any) => s.p50)));
  }
  const d8 = byId(run, 'P8');
  if (d8) {
    p8[0].ours.push(d8.oursNs[0]);
    p8[0].raw.push(d8.rawNs[0]);
    p8[1].ours.push(median(d8.oursNs.slice(1)));
    p8[1].raw.push(median(d8.rawNs.slice(1)));
    p8[2].ours.push(d8.buildNs);
    p8[2].raw.push(d8.rawBuildNs);
    p8[3].ours.push(d8.oursBytes / 1e6);
    p8[3].raw.push(d8.rawBytes / 1e6);
  }
}

const range = (values: number[], fmt: (n: number) => string) =>
  values.length > 1 ? `${fmt(median(values))} (${fmt(Math.min(...values))}–${fmt(Math.max(...values))})` : fmt(values[0]);
console.log(`${runs.length} runs: ${runs.map((r) => `${r.at} (load ${r.loadBefore ?? '?'} → ${r.loadAfter ?? '?'})`).join('; ')}`);
console.log(runs[0].machine);
console.log(
  table(
    ['figure', 'llmstate median (range)', 'raw median (range)', 'ratio median (range)', 'goal'],
    figs
      .filter((f) => f.ours.length > 0)
      .map((f) => {
        const ratios = f.ours.map((o, i) => o / f.raw[i]);
        return [f.label, range(f.ours, f.fmt), range(f.raw, f.fmt), range(ratios, fmtRatio), f.goal];
      }),
  ),
);
