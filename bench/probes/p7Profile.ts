/**
 * Probe: where a migration's time goes. Writes a store of profiles as P7 does, then runs the migration
 * (`backup: false`) under the inspector's CPU profiler (main thread only), in two profiles: counting the
 * records and migrating them into the journal, then the commit and applying the journal through the
 * actors. Prints wall time, main-thread CPU and process CPU for each, and the process's peak memory.
 *
 *   node --expose-gc --import tsx bench/probes/p7Profile.ts [records=200000] [outPrefix=/tmp/p7]
 *   node --import tsx bench/probes/summarizeProfile.ts /tmp/p7-journal.cpuprofile
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { createRuntime } from '../common.js';
import { cpuNs, elapsedNs, fmtNs, fmtRate, gc, now, threadCpuNs, withTempDir } from '../harness.js';
import { fill, layout, registerV1, registerV2, SCHEMA } from '../p7Migrations.js';
import { activeStoreDir, compact } from '../storeDir.js';

const records = Number(process.argv[2] ?? 200_000);
const outPrefix = process.argv[3] ?? '/tmp/p7';
const shape = layout(records);

const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 500 });

interface Mark {
  wall: bigint;
  main: number;
  process: number;
}
const mark = (): Mark => ({ wall: now(), main: threadCpuNs() ?? Number.NaN, process: cpuNs() });

function report(name: string, from: Mark, to: Mark, file: string): void {
  const wall = elapsedNs(from.wall, to.wall);
  const main = to.main - from.main;
  console.log(
    `${name}: wall ${fmtNs(wall)} (${fmtRate((records / wall) * 1e9)}), main-thread CPU ${fmtNs(main)} (${((main / wall) * 100).toFixed(0)} %, ${fmtNs(main / records)} per record), ` +
      `process CPU ${fmtNs(to.process - from.process)} (${fmtNs((to.process - from.process) / records)} per record); ${file}`,
  );
}

await withTempDir('p7probe', async (dir) => {
  const dataDir = join(dir, 'data');
  let rt = await createRuntime({ dataDir });
  try {
    await registerV1(rt);
    await fill(rt, shape, { log: (message) => process.stderr.write(`  … ${message}\n`) });
  } finally {
    await rt.close();
  }
  await compact(await activeStoreDir(dataDir));

  rt = await createRuntime({ dataDir });
  try {
    await registerV2(rt);
    gc();
    const before = process.memoryUsage();
    const peak = { rss: before.rss, heapUsed: before.heapUsed };
    const sampler = setInterval(() => {
      const { rss, heapUsed } = process.memoryUsage();
      peak.rss = Math.max(peak.rss, rss);
      peak.heapUsed = Math.max(peak.heapUsed, heapUsed);
    }, 200);
    const profiles: Array<Promise<unknown>> = [];
    let switched: Mark | undefined;
    await session.post('Profiler.start');
    const start = mark();
    await rt.migrations.run({
      schema: SCHEMA,
      backup: false,
      onProgress: (progress) => {
        if (progress.phase !== 'migrate' || progress.done !== progress.total || switched !== undefined) return;
        switched = mark();
        // Posted in order: the first profile ends here and the second begins.
        profiles.push(session.post('Profiler.stop'), session.post('Profiler.start'));
      },
    });
    const end = mark();
    clearInterval(sampler);
    const first = (await profiles[0]) as { profile: unknown };
    const second = await session.post('Profiler.stop');
    const files = [`${outPrefix}-journal.cpuprofile`, `${outPrefix}-apply.cpuprofile`];
    await writeFile(files[0], JSON.stringify(first.profile));
    await writeFile(files[1], JSON.stringify(second.profile));
    report('count + migrate into the journal', start, switched!, files[0]);
    report('commit + apply the journal', switched!, end, files[1]);
    report('the whole run', start, end, '');
    const mb = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;
    console.log(`memory: RSS ${mb(before.rss)} before, ${mb(peak.rss)} at most; heap used ${mb(before.heapUsed)} before, ${mb(peak.heapUsed)} at most`);
  } finally {
    await rt.close();
  }
});
