/**
 * Probe: where a backup's and a restore's time goes. Fills a store of agent-like data as P6 does, then
 * takes a full backup, an incremental one after 1 % of the keys changed, and a restore, each under the
 * inspector's CPU profiler (main thread only: brotli and LevelDB run on other threads), printing wall
 * time, main-thread CPU and process CPU for each. Then times brotli at several qualities, and gzip, on the
 * store's own entries.
 *
 *   node --expose-gc --import tsx bench/probes/p6Profile.ts [keys=200000] [outPrefix=/tmp/p6]
 *   node --import tsx bench/probes/summarizeProfile.ts /tmp/p6-full.cpuprofile
 */
import { createReadStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { brotliCompressSync, constants, createBrotliDecompress, gzipSync } from 'node:zlib';
import { agentRecord, agentRecordKey } from '../agentData.js';
import { createRuntime, Scope } from '../common.js';
import { rawBackup, rawRestore } from '../rawBackup.js';
import { cpuNs, elapsedNs, fmtNs, gc, inFlight, now, openRaw, rng, threadCpuNs, withTempDir } from '../harness.js';

const keys = Number(process.argv[2] ?? 200_000);
const outPrefix = process.argv[3] ?? '/tmp/p6';
const agents = Math.ceil(keys / 100);
const scopes = Array.from({ length: agents }, (_, a) => Scope.agent(`agent-${a}`));

const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 500 });

async function profiled<T>(name: string, fn: () => Promise<T>): Promise<T> {
  gc();
  await session.post('Profiler.start');
  const start = now();
  const cpu = cpuNs();
  const thread = threadCpuNs() ?? Number.NaN;
  const value = await fn();
  const wall = elapsedNs(start);
  const mainCpu = (threadCpuNs() ?? Number.NaN) - thread;
  const processCpu = cpuNs() - cpu;
  const { profile } = await session.post('Profiler.stop');
  const file = `${outPrefix}-${name}.cpuprofile`;
  await writeFile(file, JSON.stringify(profile));
  console.log(`${name}: wall ${fmtNs(wall)}, main-thread CPU ${fmtNs(mainCpu)} (${((mainCpu / wall) * 100).toFixed(0)} %), process CPU ${fmtNs(processCpu)}; ${file}`);
  return value;
}

await withTempDir('p6probe', async (dir) => {
  const dataDir = join(dir, 'data');
  const rt = await createRuntime({ dataDir, backups: { dir: join(dir, 'backups') } });
  try {
    await inFlight(64, agents, (a) =>
      rt.state.transaction(scopes[a], (tx) => {
        for (let t = 0; t < 100 && a * 100 + t < keys; t++) tx.set(agentRecordKey(t), agentRecord(a * 100 + t, t));
      }),
    );
    const full = await profiled('full', () => rt.backups.create());
    const random = rng(6);
    await inFlight(64, Math.round(keys / 100), (j) => {
      const i = (random() * keys) | 0;
      return rt.state.set(scopes[Math.floor(i / 100)], agentRecordKey(i % 100), agentRecord(keys + j, i % 100));
    });
    await profiled('incremental', () => rt.backups.create({ incremental: true }));
    await profiled('restore', () => rt.backups.restore({ id: full.id }));
  } finally {
    await rt.close();
  }

  const storeDir = join(dataDir, (await readFile(join(dataDir, 'STORE'), 'utf8').catch(() => 'db')).trim());
  // The raw restore, and its decompression alone.
  const rawFile = join(dir, 'raw.bin');
  await rawBackup(storeDir, rawFile);
  let start = now();
  let decompressed = 0;
  await pipeline(createReadStream(rawFile), createBrotliDecompress(), async (pieces: AsyncIterable<Buffer>) => {
    for await (const piece of pieces) decompressed += piece.length;
  });
  console.log(`raw file: decompressing alone ${fmtNs(elapsedNs(start))} (${(decompressed / 1e6).toFixed(0)} MB)`);
  await profiled('rawRestore', () => rawRestore(rawFile, join(dir, 'raw-restore')));

  // The codec alone, on the entries of the store (every sublevel), in one buffer.
  const db = await openRaw(storeDir);
  const pieces: Buffer[] = [];
  try {
    for await (const [key, value] of db.iterator()) pieces.push(key, value);
  } finally {
    await db.close();
  }
  const all = Buffer.concat(pieces);
  pieces.length = 0;
  console.log(`codec alone on ${(all.length / 1e6).toFixed(0)} MB of keys and values (one thread):`);
  let ns = 0;
  for (const quality of [1, 2, 3, 4, 5]) {
    gc();
    start = now();
    const out = brotliCompressSync(all, { params: { [constants.BROTLI_PARAM_QUALITY]: quality, [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT } });
    ns = elapsedNs(start);
    console.log(`  brotli ${quality}: ${fmtNs(ns)}, ${((all.length / ns) * 1e3).toFixed(0)} MB/s, saved ${((1 - out.length / all.length) * 100).toFixed(1)} %`);
  }
  start = now();
  const gz = gzipSync(all);
  ns = elapsedNs(start);
  console.log(`  gzip 6: ${fmtNs(ns)}, ${((all.length / ns) * 1e3).toFixed(0)} MB/s, saved ${((1 - gz.length / all.length) * 100).toFixed(1)} %`);
});
