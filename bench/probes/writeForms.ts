/** Probe: awaited latency and synchronous (main-thread) part of raw classic-level write forms, alternating. */
import { Scope, storedKey, storedValue } from '../common.js';
import { elapsedNs, fmtNs, median, now, sampleValue, withRawDb } from '../harness.js';
const N = Number(process.argv[2] ?? 5000);
const k = storedKey(Scope.agent('a1'), 'topic');
const v = storedValue(sampleValue(1));
const ev = Buffer.alloc(260, 97);
const SYNC_FALSE = { sync: false };
let seq = 0;
const evKey = () => { const b = Buffer.allocUnsafe(16); b.write('!events!', 0); b.writeDoubleBE(++seq, 8); return b; };
const forms: [string, (db: any) => Promise<unknown>][] = [
  ['db.put', (db) => db.put(k, v)],
  ['db.batch([put])', (db) => db.batch([{ type: 'put', key: k, value: v }])],
  ['db.batch([put, put])', (db) => db.batch([{ type: 'put', key: k, value: v }, { type: 'put', key: evKey(), value: ev }])],
  ['db.batch([put, put], {sync:false})', (db) => db.batch([{ type: 'put', key: k, value: v }, { type: 'put', key: evKey(), value: ev }], SYNC_FALSE)],
  ['chained put put write()', (db) => db.batch().put(k, v).put(evKey(), ev).write()],
];
const lat: Record<string, number[]> = {}; const syn: Record<string, number[]> = {};
for (let rep = 0; rep < 4; rep++) for (const [name, fn] of forms) await withRawDb('wf', async (db) => {
  for (let i = 0; i < 1000; i++) await fn(db);
  const l: number[] = [], s: number[] = [];
  for (let i = 0; i < N; i++) { const t = now(); const p = fn(db); s.push(elapsedNs(t)); await p; l.push(elapsedNs(t)); }
  (lat[name] ??= []).push(median(l)); (syn[name] ??= []).push(median(s));
});
for (const [name] of forms) console.log(name.padEnd(38), 'awaited p50', fmtNs(median(lat[name])).padStart(9), '  synchronous part p50', fmtNs(median(syn[name])).padStart(9));
