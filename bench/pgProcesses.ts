/**
 * PG's process-count measure: the sets per second of one runtime process against two on one database,
 * each writing its own agents (sticky routing), with the same total concurrency. No goal: every commit of
 * every process takes the one commit_sequence row, so commits are serialised across processes.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { IN_FLIGHT } from './concurrentSets.js';
import { fmtRate, fmtRatio, inAlternatingOrder, median, type BenchContext, type Part } from './harness.js';
import type { WriterOptions, WriterRun } from './pgWriter.js';
import { withClient, withSchema } from './postgresServer.js';

const SCRIPT = fileURLToPath(new URL('./pgWriter.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SAMPLE_MS = 20;

/** A runtime process of bench/pgWriter.ts, and the lines it answers with. */
class Writer {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #lines: AsyncIterator<string>;
  readonly #exited: Promise<unknown>;
  #stderr = '';

  constructor(options: WriterOptions) {
    this.#child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, JSON.stringify(options)], { cwd: ROOT });
    this.#child.stderr.on('data', (chunk: Buffer) => (this.#stderr += chunk.toString()));
    // A child that died takes its pipe with it: what it failed with is in its stderr, reported by next().
    this.#child.stdin.on('error', () => {});
    this.#exited = new Promise((resolve) => this.#child.once('close', resolve));
    this.#lines = (createInterface({ input: this.#child.stdout }) as Interface)[Symbol.asyncIterator]();
  }

  async next<T>(): Promise<T> {
    const line = await this.#lines.next();
    if (line.done) throw new Error(`A writer process exited before it answered:\n${this.#stderr}`);
    return JSON.parse(line.value) as T;
  }

  send(message: object): void {
    this.#child.stdin.write(`${JSON.stringify(message)}\n`);
  }

  /** Closes the child's runtime and waits for it to exit; kills it if it does not within 30 s. */
  async close(): Promise<void> {
    this.send({ close: true });
    this.#child.stdin.end();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 30_000);
    await this.#exited;
    clearTimeout(timer);
  }
}

interface ProcessesRun {
  rate: number;
  commitsPerSecond: number;
  /** Of the samples of the store's busy server backends, the share waiting for a lock. */
  lockWaitShare: number;
}

/** `parts` processes on one fresh schema, `IN_FLIGHT / parts` sets in flight each, all timed at once. */
async function runProcesses(url: string, parts: number, runMs: number): Promise<ProcessesRun> {
  return withSchema(url, `procs${parts}`, async (schema) => {
    const writers: Writer[] = [];
    try {
      for (let part = 0; part < parts; part++) {
        writers.push(new Writer({ url, schema, owner: `writer-${part}`, part, parts, inFlight: IN_FLIGHT / parts }));
      }
      await Promise.all(writers.map((writer) => writer.next()));
      const sampling = sampleLockWaits(url, schema, runMs);
      for (const writer of writers) writer.send({ runMs });
      const runs = await Promise.all(writers.map((writer) => writer.next<WriterRun>()));
      const sum = (of: (run: WriterRun) => number) => runs.reduce((total, run) => total + (of(run) / run.ns) * 1e9, 0);
      return { rate: sum((run) => run.sets), commitsPerSecond: sum((run) => run.commits), lockWaitShare: await sampling };
    } finally {
      await Promise.all(writers.map((writer) => writer.close()));
    }
  });
}

/**
 * Every SAMPLE_MS for `ms`, the store's server backends that run a statement, and of them those waiting
 * for a lock: with several processes, the next commit waiting for the commit_sequence row.
 */
async function sampleLockWaits(url: string, schema: string, ms: number): Promise<number> {
  return withClient(url, async (client) => {
    let active = 0;
    let waiting = 0;
    const end = Date.now() + ms;
    while (Date.now() < end) {
      const found = await client.query<{ active: string; waiting: string }>(
        "SELECT count(*) AS active, count(*) FILTER (WHERE wait_event_type = 'Lock') AS waiting FROM pg_stat_activity WHERE application_name = $1 AND state = 'active'",
        [`llmstate:${schema}`],
      );
      active += Number(found.rows[0].active);
      waiting += Number(found.rows[0].waiting);
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
    }
    return active === 0 ? 0 : waiting / active;
  });
}

export async function pgProcesses(ctx: BenchContext, url: string): Promise<Part> {
  const runMs = ctx.quick ? 2_000 : 5_000;
  const one: ProcessesRun[] = [];
  const two: ProcessesRun[] = [];
  for (let rep = 0; rep < ctx.reps; rep++) {
    await inAlternatingOrder(
      rep,
      async () => void one.push(await runProcesses(url, 1, runMs)),
      async () => void two.push(await runProcesses(url, 2, runMs)),
    );
    ctx.log(`PG processes rep ${rep + 1}/${ctx.reps}: one process ${fmtRate(one.at(-1)!.rate)}, two processes ${fmtRate(two.at(-1)!.rate)} in all`);
  }
  const m = (runs: ProcessesRun[], of: (run: ProcessesRun) => number) => median(runs.map(of));
  const [o, t] = [m(one, (run) => run.rate), m(two, (run) => run.rate)];
  const percent = (share: number) => `${(share * 100).toFixed(0)} %`;
  return {
    rows: [
      { id: 'PG procs', metric: `sets/s in all, two processes vs one (${IN_FLIGHT} in flight in all)`, ours: fmtRate(t), raw: `${fmtRate(o)} (one process)`, ratio: fmtRatio(t / o), goal: '(info)' },
      { id: 'PG procs', metric: 'commits/s in all, two processes vs one', ours: fmtRate(m(two, (run) => run.commitsPerSecond)), raw: fmtRate(m(one, (run) => run.commitsPerSecond)), ratio: '', goal: '(info)' },
      {
        id: 'PG procs',
        metric: 'busy backends waiting for a lock, two vs one',
        ours: percent(m(two, (run) => run.lockWaitShare)),
        raw: percent(m(one, (run) => run.lockWaitShare)),
        ratio: '',
        goal: '(info)',
      },
    ],
    notes: [
      `Processes: ${runMs / 1000} s of sets per run, after each process activated its agents and warmed up for 1 s; one process with ${IN_FLIGHT} in flight ` +
        `over the 1,000 agents, or two with ${IN_FLIGHT / 2} each over 500 agents of their own, on one fresh schema. Each process's rate is its sets over its own time; the two are added.`,
      'Every commit of every process updates the one commit_sequence row and holds it to COMMIT (so that sequence order is commit order), ' +
        "so a second process's commit waits while the first one's WAL flush finishes: the lock waits sampled in pg_stat_activity.",
    ],
    data: { one, two },
  };
}
