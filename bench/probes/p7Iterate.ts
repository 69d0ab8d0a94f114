/**
 * Probe: what reading a migration's records one awaited entry at a time costs, against reading them
 * 1,000 at a time. Writes N profile records into a `state` sublevel of a raw classic-level store, then
 * reads them all, each way, with and without an AsyncLocalStorage in use (the runtime has one, for
 * correlation ids, which turns on promise hooks):
 *
 * - per entry: the sublevel's async iterator, delegated to by one async generator and consumed by a
 *   second, as `StorageBackend.iterate` and `boundRecords` do;
 * - in batches: `iterator.nextv(1000)` on the same sublevel, and a plain loop over each batch.
 *
 *   node --expose-gc --import tsx bench/probes/p7Iterate.ts [records=1000000] [rounds=3]
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { agentProfile } from '../agentData.js';
import { cpuNs, elapsedNs, fmtNs, fmtRate, gc, median, now, withRawDb } from '../harness.js';
import { recordEnvelope } from '../subject.js';

const records = Number(process.argv[2] ?? 1_000_000);
const rounds = Number(process.argv[3] ?? 3);

type Sub = ReturnType<Parameters<Parameters<typeof withRawDb>[1]>[0]['sublevel']>;

async function* delegated(sub: Sub): AsyncGenerator<[Buffer, Buffer]> {
  yield* sub.iterator() as AsyncIterable<[Buffer, Buffer]>;
}

async function* decoded(sub: Sub): AsyncGenerator<number> {
  for await (const [, value] of delegated(sub)) yield value.length;
}

async function perEntry(sub: Sub): Promise<number> {
  let bytes = 0;
  for await (const length of decoded(sub)) bytes += length;
  return bytes;
}

async function batched(sub: Sub): Promise<number> {
  const iterator = sub.iterator();
  let bytes = 0;
  try {
    for (let entries = await iterator.nextv(1000); entries.length > 0; entries = await iterator.nextv(1000)) {
      for (const [, value] of entries) bytes += (value as Buffer).length;
    }
  } finally {
    await iterator.close();
  }
  return bytes;
}

await withRawDb('p7iterate', async (db) => {
  const sub = db.sublevel<Buffer, Buffer>('state', { keyEncoding: 'buffer', valueEncoding: 'buffer' }) as unknown as Sub;
  await sub.open();
  for (let done = 0; done < records; done += 1000) {
    const batch = sub.batch();
    for (let i = done; i < Math.min(records, done + 1000); i++) {
      batch.put(Buffer.from(`agent-${Math.floor(i / 1000)}\u0000profile/${String(i % 1000).padStart(4, '0')}`), recordEnvelope.encodeRecord({ seq: 1, timestamp: 0, schema: 'profile@1.0.0' }, JSON.stringify(agentProfile(i))));
    }
    await batch.write();
  }
  await db.compactRange(Buffer.alloc(0), Buffer.alloc(64, 0xff));

  const measure = async (name: string, read: (sub: Sub) => Promise<number>) => {
    const wall: number[] = [];
    const cpu: number[] = [];
    for (let round = 0; round < rounds; round++) {
      gc();
      const start = now();
      const cpuStart = cpuNs();
      await read(sub);
      cpu.push(cpuNs() - cpuStart);
      wall.push(elapsedNs(start));
    }
    console.log(`${name}: ${fmtRate((records / median(wall)) * 1e9)}, process CPU ${fmtNs(median(cpu) / records)} per record (median of ${rounds})`);
  };
  await measure('per entry, two async generators, no AsyncLocalStorage', perEntry);
  await measure('nextv(1000), no AsyncLocalStorage', batched);
  const als = new AsyncLocalStorage<{ id: string }>();
  await als.run({ id: 'probe' }, async () => {
    await measure('per entry, two async generators, AsyncLocalStorage in use', perEntry);
    await measure('nextv(1000), AsyncLocalStorage in use', batched);
  });
});
