/** Probe: awaited latency of raw write forms, alternating, many reps. Also the synchronous cost of the call. */
import { Scope, storedKey, storedValue } from '../common.js';
import { encodeStateKey } from '../../src/state/keyCodec.js';
import { encodeSeqKey, encodeCommitRecord, stateEventJson } from '../../src/events/eventLog.js';
import { elapsedNs, fmtNs, median, now, sampleValue, withRawDb } from '../harness.js';

const N = Number(process.argv[2] ?? 10000);
const REPS = Number(process.argv[3] ?? 5);
const scope = Scope.agent('a1');
const value = sampleValue(1);
const json = JSON.stringify(value);
const k = storedKey(scope, 'topic');
const v = storedValue(value);
const ev = encodeCommitRecord(1, Date.now(), [stateEventJson('state.set', '"agent:a1"', 'topic', '1.0', undefined, json)]);
const EVP = Buffer.from('!events!');
const evKey = (i: number) => Buffer.concat([EVP, encodeSeqKey(i)]);
const sk = encodeStateKey(scope, 'topic');

type Variant = [string, (db: any, subs: any, i: number) => Promise<unknown>];
const variants: Variant[] = [
  ['put 1 op', (db) => db.put(k, v)],
  ['batch([put]) 1 op', (db) => db.batch([{ type: 'put', key: k, value: v }])],
  ['batch([put,put]) plain keys', (db, _s, i) => db.batch([{ type: 'put', key: k, value: v }, { type: 'put', key: evKey(i), value: ev }])],
  ['batch([put,put]) small 2nd value', (db, _s, i) => db.batch([{ type: 'put', key: k, value: v }, { type: 'put', key: evKey(i), value: v }])],
  ['chained 2 ops plain keys', (db, _s, i) => db.batch().put(k, v).put(evKey(i), ev).write()],
  ['batch 2 ops via sublevels', (db, s, i) => db.batch([{ type: 'put', sublevel: s.st, key: sk, value: v }, { type: 'put', sublevel: s.es, key: encodeSeqKey(i), value: ev }], { sync: false })],
];
const lat: Record<string, number[]> = {}; const sync: Record<string, number[]> = {};
let counter = 1;
for (let rep = 0; rep < REPS; rep++) {
  for (const [name, fn] of variants) {
    await withRawDb('forms', async (db) => {
      const subs = { st: db.sublevel('state', { keyEncoding: 'buffer', valueEncoding: 'buffer' }), es: db.sublevel('events', { keyEncoding: 'buffer', valueEncoding: 'buffer' }) };
      for (let i = 0; i < 2000; i++) await fn(db, subs, counter++);
      const l = new Float64Array(N), s = new Float64Array(N);
      for (let i = 0; i < N; i++) { const t = now(); const p = fn(db, subs, counter++); s[i] = elapsedNs(t); await p; l[i] = elapsedNs(t); }
      l.sort(); s.sort();
      (lat[name] ??= []).push(l[N >> 1]); (sync[name] ??= []).push(s[N >> 1]);
    });
  }
}
for (const [name] of variants) console.log(name.padEnd(36), 'p50 latency', fmtNs(median(lat[name])).padStart(9), '  sync part of call p50', fmtNs(median(sync[name])).padStart(9));
