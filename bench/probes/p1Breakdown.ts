/** Probe: where the time of one awaited set goes. Not part of `npm run bench`. */
import { performance } from 'node:perf_hooks';
import { Scope, storedKey, storedValue, withRuntime } from '../common.js';
import { storageOf } from '../../src/runtime.js';
import { encodeSeqKey, encodeCommitRecord, stateEventJson } from '../../src/events/eventLog.js';
import { encodeStateKey } from '../../src/state/keyCodec.js';
import { elapsedNs, fmtNs, now, openRaw, sampleValue, summarize, withRawDb, withTempDir } from '../harness.js';

const N = Number(process.argv[2] ?? 20000);
const scope = Scope.agent('a1');
const value = sampleValue(1);
const json = JSON.stringify(value);
const k = storedKey(scope, 'topic');
const v = storedValue(value);
const evKey = Buffer.concat([Buffer.from('!events!'), encodeSeqKey(1)]);
const ev = encodeCommitRecord(1, Date.now(), [stateEventJson('state.set', JSON.stringify(scope.toString()), 'topic', '1.0', undefined, json)]);

async function time(label: string, fn: (i: number) => Promise<unknown>) {
  for (let i = 0; i < 3000; i++) await fn(i);
  const s = new Float64Array(N);
  const elu0 = performance.eventLoopUtilization();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < N; i++) { const t = now(); await fn(i + 3000); s[i] = elapsedNs(t); }
  const elu = performance.eventLoopUtilization(elu0);
  const cpu = process.cpuUsage(cpu0);
  const r = summarize(s);
  console.log(label.padEnd(40), 'p50', fmtNs(r.p50).padStart(9), 'mean', fmtNs(r.mean).padStart(9), 'p99', fmtNs(r.p99).padStart(9),
    ' main-thread busy/op', fmtNs((elu.active * 1e6) / N).padStart(9), ' process CPU/op', fmtNs(((cpu.user + cpu.system) * 1e3) / N).padStart(9));
}

for (let rep = 0; rep < Number(process.argv[3] ?? 2); rep++) {
  await withRawDb('pr', (db) => time('raw put', () => db.put(k, v)));
  await withRawDb('pr', (db) => time('raw batch [put state, put event]', (i) => { const ek = Buffer.concat([Buffer.from('!events!'), encodeSeqKey(i + 1)]); return db.batch([{ type: 'put', key: k, value: v }, { type: 'put', key: ek, value: ev }]); }));
  await withRawDb('pr', (db) => { const st = db.sublevel<Buffer, Buffer>('state', { keyEncoding: 'buffer', valueEncoding: 'buffer' }); const es = db.sublevel<Buffer, Buffer>('events', { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    const sk = encodeStateKey(scope, 'topic');
    return time('raw batch via sublevels', (i) => db.batch([{ type: 'put', sublevel: st, key: sk, value: v }, { type: 'put', sublevel: es, key: encodeSeqKey(i + 1), value: ev }] as any)); });
  await withTempDir('pr', (dir) => withRuntime(dir, async (rt) => {
    const storage = storageOf(rt);
    const sk = encodeStateKey(scope, 'topic');
    await time('storage.batch (LevelBackend) 2 ops', (i) => storage.batch([{ type: 'put', sublevel: 'state', key: sk, value: v }, { type: 'put', sublevel: 'events', key: encodeSeqKey(1e9 + i), value: ev }]));
    await time('rt.state.set', () => rt.state.set(scope, 'topic', value));
  }));
}
