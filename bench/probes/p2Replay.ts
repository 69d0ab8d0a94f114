/** Probe: capture the runtime's P2 batches, then replay them through storage.batch with nothing else running. */
import { Scope, withRuntime } from '../common.js';
import { storageOf } from '../../src/runtime.js';
import { elapsedNs, fmtNs, inFlight, median, now, rng, sampleValue, withTempDir } from '../harness.js';

const values = Array.from({ length: 64 }, (_, i) => sampleValue(i));
const scopes = Array.from({ length: 1000 }, (_, i) => Scope.agent(`agent-${i}`));
await withTempDir('p2re', (dir) => withRuntime(dir, async (rt) => {
  const storage = storageOf(rt);
  const orig = storage.batch.bind(storage);
  const captured: any[] = [];
  const syncLive: number[] = [];
  (storage as any).batch = (o: any, opts: any) => { if (captured.length < 300) captured.push([o, opts]); const t = now(); const p = orig(o, opts); syncLive.push(elapsedNs(t)); return p; };
  const random = rng(1);
  await inFlight(64, 40000, (i) => rt.state.set(scopes[(random() * 1000) | 0], `k${(random() * 10) | 0}`, values[i & 63]));
  console.log('live: sync part median', fmtNs(median(syncLive.slice(-300))));
  for (let rep = 0; rep < 3; rep++) {
    const s: number[] = [];
    for (const [o, opts] of captured) { const t = now(); const p = orig(o, opts); s.push(elapsedNs(t)); await p; }
    console.log('replay: sync part median', fmtNs(median(s)), 'ops', captured[0][0].length, 'sizes', captured[0][0].map((x: any) => x.value?.length).slice(-3));
  }
  // Same ops, but a copy of each buffer into a fresh, exactly sized ArrayBuffer.
  const copied = captured.map(([o, opts]) => [o.map((x: any) => ({ ...x, key: Buffer.from(Uint8Array.prototype.slice.call(x.key)), value: x.value && Buffer.from(Uint8Array.prototype.slice.call(x.value)) })), opts]);
  for (let rep = 0; rep < 2; rep++) {
    const s: number[] = [];
    for (const [o, opts] of copied) { const t = now(); const p = orig(o, opts); s.push(elapsedNs(t)); await p; }
    console.log('replay with copied buffers: sync part median', fmtNs(median(s)));
  }
  const x = captured[0][0][0];
  console.log('key buffer: byteLength', x.key.length, 'backing ArrayBuffer', x.key.buffer.byteLength, ' value backing', x.value.buffer.byteLength);
  const ev = captured[0][0].at(-1);
  console.log('event value', ev.value.length, 'backing', ev.value.buffer.byteLength);
}));
