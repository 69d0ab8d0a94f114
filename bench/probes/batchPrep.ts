/** Probe: synchronous (main-thread) cost of db.batch with 65 ops: plain keys vs sublevel ops vs chained. */
import { Scope, storedKey, storedValue } from '../common.js';
import { encodeStateKey } from '../../src/state/keyCodec.js';
import { fmtNs, median, now, elapsedNs, sampleValue, withRawDb } from '../harness.js';

const OPS = Number(process.argv[2] ?? 65);
const scopes = Array.from({ length: OPS }, (_, i) => Scope.agent(`agent-${i}`));
const v = storedValue(sampleValue(1));
const big = Buffer.alloc(12165, 97);
await withRawDb('prep', async (db) => {
  const st = db.sublevel<Buffer, Buffer>('state', { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  const forms: [string, () => Promise<unknown>][] = [
    ['plain ops, root db.batch([...])', () => db.batch(scopes.map((s) => ({ type: 'put' as const, key: storedKey(s, 'k'), value: v })))],
    ['plain ops + {sync:false}', () => db.batch(scopes.map((s) => ({ type: 'put' as const, key: storedKey(s, 'k'), value: v })), { sync: false } as any)],
    ['sublevel ops + {sync:false}', () => db.batch(scopes.map((s) => ({ type: 'put', sublevel: st, key: encodeStateKey(s, 'k'), value: v })) as any, { sync: false } as any)],
    ['chained, plain keys', () => { const b = db.batch(); for (const s of scopes) b.put(storedKey(s, 'k'), v); return b.write(); }],
    ['plain ops + one 12 KB value', () => db.batch([...scopes.map((s) => ({ type: 'put' as const, key: storedKey(s, 'k'), value: v })), { type: 'put' as const, key: Buffer.from('!events!x'), value: big }])],
    ['plain ops + one 3 KB value', () => db.batch([...scopes.map((s) => ({ type: 'put' as const, key: storedKey(s, 'k'), value: v })), { type: 'put' as const, key: Buffer.from('!events!x'), value: big.subarray(0, 3000) }])],
    ['st.batch (on the sublevel)', () => st.batch(scopes.map((s) => ({ type: 'put' as const, key: encodeStateKey(s, 'k'), value: v })))],
  ];
  const res: Record<string, number[]> = {}; const lat: Record<string, number[]> = {};
  for (let rep = 0; rep < 5; rep++) for (const [name, fn] of forms) {
    for (let i = 0; i < 300; i++) await fn();
    const s: number[] = []; const l: number[] = [];
    for (let i = 0; i < 2000; i++) { const t = now(); const p = fn(); s.push(elapsedNs(t)); await p; l.push(elapsedNs(t)); }
    (res[name] ??= []).push(median(s)); (lat[name] ??= []).push(median(l));
  }
  for (const [name] of forms) console.log(name.padEnd(34), `${OPS} ops: sync part`, fmtNs(median(res[name])).padStart(9), ` per op ${fmtNs(median(res[name]) / OPS)}`, '  awaited', fmtNs(median(lat[name])).padStart(9));
});
