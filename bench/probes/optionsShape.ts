/** Probe: abstract-level array batch cost by the options argument. Run one variant per process: fresh|const|none */
import { ClassicLevel } from 'classic-level';
import { Scope, storedValue } from '../common.js';
import { encodeStateKey } from '../../src/state/keyCodec.js';
import { encodeSeqKey } from '../../src/events/eventLog.js';
import { SUBLEVELS } from '../../src/storage/StorageBackend.js';
import { elapsedNs, fmtNs, median, now, sampleValue, withTempDir } from '../harness.js';
const variant = process.argv[2] ?? 'fresh';
const STATE_OPS = Number(process.argv[3] ?? 64);
const scopes = Array.from({ length: 1000 }, (_, i) => Scope.agent(`agent-${i}`));
const v = storedValue(sampleValue(1));
const big = Buffer.alloc(12165, 97);
const BUF = { keyEncoding: 'buffer', valueEncoding: 'buffer' } as const;
const CONST = { sync: false };
const SP = Buffer.from('!state!'); const EP = Buffer.from('!events!');
await withTempDir('os', async (dir) => {
  const db = new ClassicLevel<Buffer, Buffer>(dir, BUF); void db.close();
  const subs: any = Object.fromEntries(SUBLEVELS.map((n) => [n, db.sublevel(n, BUF)]));
  await db.open(); await Promise.all(Object.values(subs).map((s: any) => s.open()));
  try {
    for (let rep = 0; rep < 4; rep++) {
      const s: number[] = [];
      for (let i = 0; i < 2000; i++) {
        const seq = rep * 2000 + i;
        const ops = [...Array.from({ length: STATE_OPS }, (_, j) => ({ type: 'put', sublevel: subs.state, key: encodeStateKey(scopes[(seq * 64 + j) % 1000], `k${j % 10}`), value: v })), { type: 'put', sublevel: subs.events, key: encodeSeqKey(seq), value: big }];
        const t = now();
        const p = variant === 'chained' ? (() => { const b = db.batch(); for (const o of ops as any[]) b.put(o.key, o.value, { sublevel: o.sublevel }); return b.write({ sync: false } as any); })()
          : variant === 'chainedPlain' ? (() => { const b = db.batch(); for (const o of ops as any[]) b.put(Buffer.concat([o.sublevel === subs.state ? SP : EP, o.key]), o.value); return b.write({ sync: false } as any); })()
          : variant === 'plainConst' ? db.batch((ops as any[]).map((o) => ({ type: 'put', key: Buffer.concat([o.sublevel === subs.state ? SP : EP, o.key]), value: o.value })) as any, CONST as any)
          : variant === 'fresh' ? db.batch(ops as any, { sync: seq < 0 } as any) : variant === 'const' ? db.batch(ops as any, CONST as any) : db.batch(ops as any);
        s.push(elapsedNs(t)); await p;
      }
      console.log(variant.padEnd(12), `rep ${rep}: sync part of a ${STATE_OPS + 1}-op batch, median`, fmtNs(median(s)));
    }
  } finally { await db.close(); }
});
