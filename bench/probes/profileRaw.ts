/** Probe for `node --cpu-prof`: raw classic-level loops. Usage: profileRaw.ts put|sublevel [count] */
import { Scope, storedKey, storedValue } from '../common.js';
import { encodeStateKey } from '../../src/state/keyCodec.js';
import { encodeSeqKey } from '../../src/events/eventLog.js';
import { sampleValue, withRawDb } from '../harness.js';
const mode = process.argv[2] ?? 'put';
const count = Number(process.argv[3] ?? 100_000);
const scope = Scope.agent('a1');
const v = storedValue(sampleValue(1));
await withRawDb('profraw', async (db) => {
  if (mode === 'put') { const k = storedKey(scope, 'topic'); for (let i = 0; i < count; i++) await db.put(k, v); }
  else {
    const st = db.sublevel<Buffer, Buffer>('state', { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    const es = db.sublevel<Buffer, Buffer>('events', { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    const ev = Buffer.alloc(300, 97);
    const sk = encodeStateKey(scope, 'topic');
    for (let i = 0; i < count; i++) await db.batch([{ type: 'put', sublevel: st, key: sk, value: v }, { type: 'put', sublevel: es, key: encodeSeqKey(i + 1), value: ev }] as any, { sync: false } as any);
  }
});
