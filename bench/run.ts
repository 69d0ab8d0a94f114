/**
 * Runs the benchmarks of DESIGN §14 and prints each figure beside raw classic-level measured in the
 * same process.
 *
 *   npm run bench                                  # all, full sizes (builds first, runs with --expose-gc)
 *   node --expose-gc --import tsx bench/run.ts P2  # one benchmark (ids are case-insensitive)
 *   node --import tsx bench/run.ts --quick         # smaller sizes, a smoke run
 *   options: --reps N (measured repetitions, default 5; 3 with --quick), --json FILE (write raw results),
 *            --keys N (the store size of P6: default 1M, 100k with --quick),
 *            --records N (the records P7 migrates: default 1M, 100k with --quick),
 *            --postgres URL (the server PG runs against; see bench/postgresServer.ts for the others it tries)
 */
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { gc, hasGc, printResult, table, PASS, type Benchmark, type BenchContext, type BenchResult } from './harness.js';
import { p1AwaitedSet } from './p1AwaitedSet.js';
import { p2ConcurrentSet } from './p2ConcurrentSet.js';
import { p3CachedGet } from './p3CachedGet.js';
import { p4Hooks } from './p4Hooks.js';
import { p8Reopen } from './p8Reopen.js';
import { p5Passivation } from './p5Passivation.js';
import { p6Backups } from './p6Backups.js';
import { p7Migrations } from './p7Migrations.js';
import { agentSpawn } from './agentSpawn.js';
import { agentRestart } from './agentRestart.js';
import { accessCheck } from './accessCheck.js';
import { p9LangGraph } from './p9LangGraph.js';
import { p10Postgres } from './p10Postgres.js';

const BENCHMARKS: Record<string, Benchmark> = {
  P1: p1AwaitedSet,
  P2: p2ConcurrentSet,
  P3: p3CachedGet,
  P4: p4Hooks,
  P8: p8Reopen,
  P5: p5Passivation,
  P6: p6Backups,
  P7: p7Migrations,
  SPAWN: agentSpawn,
  RESTART: agentRestart,
  ACCESS: accessCheck,
  LG: p9LangGraph,
  PG: p10Postgres,
};

interface Args {
  ids: string[];
  quick: boolean;
  reps: number | undefined;
  json: string | undefined;
  keys: number | undefined;
  records: number | undefined;
  postgres: string | undefined;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { ids: [], quick: false, reps: undefined, json: undefined, keys: undefined, records: undefined, postgres: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') args.quick = true;
    else if (arg === '--reps') args.reps = Number(argv[++i]);
    else if (arg === '--json') args.json = argv[++i];
    else if (arg === '--keys') args.keys = Number(argv[++i]);
    else if (arg === '--records') args.records = Number(argv[++i]);
    else if (arg === '--postgres') args.postgres = argv[++i];
    else if (arg === '--help' || arg === '-h') {
      console.log('usage: bench/run.ts [P1 P2 P3 P4 P5 P6 P7 P8 SPAWN RESTART ACCESS LG PG …] [--quick] [--reps N] [--keys N] [--records N] [--postgres URL] [--json FILE]');
      args.ids = ['--help'];
    } else if (arg.toUpperCase() in BENCHMARKS) args.ids.push(arg.toUpperCase());
    else throw new TypeError(`Unknown argument \`${arg}\`; the benchmarks are ${Object.keys(BENCHMARKS).join(', ')}`);
  }
  if (args.reps !== undefined && !(Number.isInteger(args.reps) && args.reps > 0)) {
    throw new TypeError(`Expected --reps to be a positive integer, got \`${args.reps}\``);
  }
  if (args.keys !== undefined && !(Number.isInteger(args.keys) && args.keys > 0)) {
    throw new TypeError(`Expected --keys to be a positive integer, got \`${args.keys}\``);
  }
  if (args.records !== undefined && !(Number.isInteger(args.records) && args.records > 0)) {
    throw new TypeError(`Expected --records to be a positive integer, got \`${args.records}\``);
  }
  if (args.postgres !== undefined && !/^postgres(ql)?:\/\//.test(args.postgres)) {
    throw new TypeError(`Expected --postgres to be a URL such as postgres://user@host:5432/db, got \`${args.postgres}\``);
  }
  return args;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.ids[0] === '--help') return;
  const ids = args.ids.length > 0 ? args.ids : Object.keys(BENCHMARKS);
  const ctx: BenchContext = {
    quick: args.quick,
    reps: args.reps ?? (args.quick ? 3 : 5),
    ...(args.keys === undefined ? {} : { keys: args.keys }),
    ...(args.records === undefined ? {} : { records: args.records }),
    ...(args.postgres === undefined ? {} : { postgres: args.postgres }),
    log: (message) => process.stderr.write(`  … ${message}\n`),
  };
  const machine = `${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}), node ${process.version}, ${process.platform}/${process.arch}`;
  console.log(`llmstate bench — ${machine}`);
  const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
  const loadBefore = load();
  console.log(`${args.quick ? 'quick sizes' : 'full sizes'}, ${ctx.reps} reps, gc between benchmarks: ${hasGc() ? 'yes' : 'no (run with --expose-gc)'}`);
  console.log(`load average at start: ${loadBefore} (other processes on this machine skew every figure; compare ratios)`);

  const results: BenchResult[] = [];
  const failures: string[] = [];
  for (const id of ids) {
    gc();
    try {
      const result = await BENCHMARKS[id](ctx);
      results.push(result);
      printResult(result);
    } catch (error) {
      // Each benchmark closes its own stores in finally blocks; report and go on with the next one.
      failures.push(id);
      console.error(`\n${id} failed:`, error);
    }
  }

  console.log('\n== Summary');
  const rows = results.flatMap((r) => r.rows.filter((row) => row.pass !== undefined));
  console.log(
    table(
      ['id', 'metric', 'llmstate', 'raw', 'ratio', 'goal', 'status'],
      rows.map((r) => [r.id, r.metric, r.ours, r.raw, r.ratio, r.goal, PASS(r.pass!)]),
    ),
  );
  console.log(`\nload average at end: ${load()}`);
  const skipped = results.filter((r) => r.skipped !== undefined).map((r) => r.id);
  if (skipped.length > 0) console.log(`\nSkipped: ${skipped.join(', ')} (see above)`);
  if (failures.length > 0) console.log(`\nFailed to run: ${failures.join(', ')}`);
  if (args.json !== undefined) {
    await writeFile(args.json, JSON.stringify({ machine, quick: args.quick, reps: ctx.reps, at: new Date().toISOString(), loadBefore, loadAfter: load(), results }, null, 2));
    console.log(`\nWrote ${args.json}`);
  }
  // Benchmarks are not gates (DESIGN §14): only a crash sets a failing exit code, and without process.exit.
  if (failures.length > 0) process.exitCode = 1;
}

await main();
