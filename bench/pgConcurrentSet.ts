/**
 * P2 on PostgreSQL: P2's workload (64 writers in flight over 1,000 agents) against raw `pg` writing the same
 * rows in transactions shaped as the runtime's group commit shaped its own in the same run: as many sets
 * per transaction, and one event-log record each, of the size the runtime wrote. Goal: ≥ 0.5× raw.
 * For information, raw `pg` sending the backend's own statements for the same transactions.
 */
import { storedValue, withPostgresRuntime, type Runtime } from './common.js';
import { AGENTS, concurrentSets, IN_FLIGHT, KEYS_PER_AGENT } from './concurrentSets.js';
import { cpuNs, elapsedNs, fmtNs, fmtRate, fmtRatio, gc, inAlternatingOrder, inFlight, median, now, rng, type BenchContext, type Part } from './harness.js';
import { BackendStatements, RawPg, type Row } from './pgRaw.js';
import { withClient, withSchema } from './postgresServer.js';
import { eventLog, keyCodec } from './subject.js';

const GOAL = 0.5;

/** How the runtime grouped its sets into transactions. */
interface Shape {
  setsPerCommit: number;
  /** An event-log record of the median size among those the timed sets wrote. */
  eventRecord: Buffer;
}

/** One raw transaction: the state records of its sets, and the agents they belong to. */
interface RawCommit {
  rows: Row[];
  agents: Set<number>;
}

export async function pgConcurrentSet(ctx: BenchContext, url: string): Promise<Part> {
  const count = ctx.quick ? 5_000 : 20_000;
  const warmup = ctx.quick ? 2_000 : 5_000;
  const { scopes, keys, values, drive } = concurrentSets();
  const stateKeys = scopes.flatMap((scope) => keys.map((key) => keyCodec.encodeStateKey(scope, key)));
  const stateValues = values.map((value) => storedValue(value));
  const resources = scopes.map((scope) => scope.toString());

  const ours: number[] = [];
  const raw: number[] = [];
  const statements: number[] = [];
  const cpu = { ours: [] as number[], raw: [] as number[] };
  const shapes: Shape[] = [];

  // Every agent's actor is activated (its lease taken) before the warm-up, so that the timed sets find them all.
  const measureOurs = async (rt: Runtime, schema: string) => {
    await inFlight(IN_FLIGHT, AGENTS, (i) => rt.state.set(scopes[i], keys[0], values[0]));
    await drive(rt, warmup, 1);
    const before = rt.metrics().commits;
    const cpuStart = cpuNs();
    const start = now();
    await drive(rt, count, 2);
    const ns = elapsedNs(start);
    cpu.ours.push((cpuNs() - cpuStart) / count);
    const after = rt.metrics().commits;
    const eventRecord = await medianEventRecord(url, schema, before.seq);
    return { rate: (count / ns) * 1e9, shape: { setsPerCommit: (after.units - before.units) / (after.batches - before.batches), eventRecord } };
  };
  const runOurs = async () => {
    gc();
    const result = await withSchema(url, 'p2', (schema) => withPostgresRuntime(url, schema, (rt) => measureOurs(rt, schema)));
    ours.push(result.rate);
    shapes.push(result.shape);
  };

  // `n` random sets in transactions of `perCommit`, keeping the last value of each key, as the runtime's
  // batch does, in key order.
  function* rawCommits(n: number, seed: number, perCommit: number): Generator<RawCommit> {
    const random = rng(seed);
    for (let done = 0; done < n; done += perCommit) {
      const latest = new Map<number, Row>();
      for (let j = 0; j < Math.min(perCommit, n - done); j++) {
        const index = (random() * stateKeys.length) | 0;
        latest.set(index, { sublevel: 'state', key: stateKeys[index], value: stateValues[(done + j) & 63] });
      }
      const indexes = [...latest.keys()].sort((a, b) => Buffer.compare(stateKeys[a], stateKeys[b]));
      yield { rows: indexes.map((index) => latest.get(index)!), agents: new Set(indexes.map((index) => Math.floor(index / KEYS_PER_AGENT))) };
    }
  }
  // Times `count` sets written by `write`, after the activating and warm-up ones, in the latest run's shape.
  const timedRaw = async (write: (commit: RawCommit, eventRecord: Buffer) => Promise<void>, cpuInto?: number[]) => {
    gc();
    const shape = shapes.at(-1)!;
    const perCommit = Math.max(1, Math.round(shape.setsPerCommit));
    for (const commit of rawCommits(AGENTS + warmup, 1, perCommit)) await write(commit, shape.eventRecord);
    const cpuStart = cpuNs();
    const start = now();
    for (const commit of rawCommits(count, 2, perCommit)) await write(commit, shape.eventRecord);
    const ns = elapsedNs(start);
    cpuInto?.push((cpuNs() - cpuStart) / count);
    return (count / ns) * 1e9;
  };
  const runRaw = async () => {
    raw.push(
      await withSchema(url, 'p2raw', async (schema) => {
        const db = await RawPg.open(url, schema);
        let seq = 0;
        try {
          return await timedRaw((commit, eventRecord) => db.batch([...commit.rows, { sublevel: 'events', key: eventLog.encodeSeqKey(++seq), value: eventRecord }]), cpu.raw);
        } finally {
          await db.close();
        }
      }),
    );
  };
  const runStatements = async () => {
    statements.push(
      await withSchema(url, 'p2sql', async (schema) => {
        const db = await BackendStatements.open(url, schema, resources);
        try {
          return await timedRaw((commit, eventRecord) => db.commit(commit.rows, eventRecord, [...commit.agents].map((agent) => resources[agent])));
        } finally {
          await db.close();
        }
      }),
    );
  };

  // The raw sides take their shape from the latest runtime run: this first one gives it before the first repetition.
  ctx.log('PG P2: a first runtime run, to learn the shape of its commits');
  await runOurs();
  ours.length = 0;
  cpu.ours.length = 0;
  for (let rep = 0; rep < ctx.reps; rep++) {
    await inAlternatingOrder(rep, runOurs, runRaw, runStatements);
    ctx.log(
      `PG P2 rep ${rep + 1}/${ctx.reps}: set ${fmtRate(ours.at(-1)!)} (${shapes.at(-1)!.setsPerCommit.toFixed(1)} sets per commit), raw pg ${fmtRate(raw.at(-1)!)}, ` +
        `the backend's statements ${fmtRate(statements.at(-1)!)}`,
    );
  }

  const o = median(ours);
  const r = median(raw);
  const b = median(statements);
  const perCommit = median(shapes.map((s) => s.setsPerCommit));
  const eventBytes = median(shapes.map((s) => s.eventRecord.length));
  return {
    rows: [
      { id: 'PG P2', metric: `sets/s, ${IN_FLIGHT} in flight vs raw batched`, ours: fmtRate(o), raw: fmtRate(r), ratio: fmtRatio(o / r), goal: `≥ ${GOAL}×`, pass: o / r >= GOAL },
      { id: 'PG P2', metric: "the backend's statements sent raw: sets/s", ours: fmtRate(b), raw: fmtRate(r), ratio: fmtRatio(b / r), goal: '(info)' },
      { id: 'PG P2', metric: 'process CPU per set', ours: fmtNs(median(cpu.ours)), raw: fmtNs(median(cpu.raw)), ratio: fmtRatio(median(cpu.ours) / median(cpu.raw)), goal: '(info)' },
    ],
    notes: [
      `P2: ${count} sets after ${AGENTS} activating ones and ${warmup} warm-up ones, ${IN_FLIGHT} in flight; the runtime committed ` +
        `${perCommit.toFixed(1)} sets per transaction (median over runs; rt.metrics().commits units / batches), one transaction in flight at a time.`,
      `P2 raw: the same keys and values, ${Math.round(perCommit)} sets per transaction (the last of each key) and one event-log record ` +
        `(${eventBytes} B, a record the runtime wrote), in one prepared INSERT … SELECT * FROM unnest($1::text[], $2::bytea[], $3::bytea[]) ` +
        'ON CONFLICT … DO UPDATE each: one round trip, one transaction in flight at a time.',
      "P2 the backend's statements: the same transactions, sent as the backend sends them (two round trips, the leases of the transaction's agents checked).",
    ],
    data: { ours, raw, statements, cpu, shapes: shapes.map((s) => ({ setsPerCommit: s.setsPerCommit, eventRecordBytes: s.eventRecord.length })) },
  };
}

/** The event-log record of median size among those committed after sequence `after`. */
async function medianEventRecord(url: string, schema: string, after: number): Promise<Buffer> {
  return withClient(url, async (client) => {
    const found = await client.query<{ value: Buffer }>(
      `SELECT value FROM "${schema}".records WHERE sublevel = 'events' AND key > $1 ORDER BY length(value) ` +
        `OFFSET (SELECT count(*) / 2 FROM "${schema}".records WHERE sublevel = 'events' AND key > $1) LIMIT 1`,
      [eventLog.encodeSeqKey(after)],
    );
    return found.rows[0].value;
  });
}
