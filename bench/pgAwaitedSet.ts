/**
 * P1 on PostgreSQL: one caller awaiting each `rt.state.set`, against one caller awaiting raw `pg` writing
 * the same two rows in one transaction (bench/pgRaw.ts). Goal: ≤ 1.5× raw, on the p50 and the mean.
 * For information, raw `pg` sending the backend's own statements for each set: the runtime's SQL without
 * the runtime, which tells the cost of the SQL from the cost of the code around it.
 */
import { Scope, storedValue, withPostgresRuntime } from './common.js';
import { elapsedNs, fmtNs, fmtRatio, gc, inAlternatingOrder, medianSummary, now, sampleValue, summarize, type BenchContext, type LatencySummary, type Part, type ResultRow } from './harness.js';
import { BackendStatements, RawPg, type Row } from './pgRaw.js';
import { withClient, withSchema } from './postgresServer.js';
import { eventLog, keyCodec } from './subject.js';

const GOAL = 1.5;

export async function pgAwaitedSet(ctx: BenchContext, url: string): Promise<Part> {
  const warmup = ctx.quick ? 50 : 200;
  const count = ctx.quick ? 500 : 2_000;
  const scope = Scope.agent('a1');
  const value = sampleValue(1);
  const state: Row = { sublevel: 'state', key: keyCodec.encodeStateKey(scope, 'topic'), value: storedValue(value) };
  const eventValue = await oneSetsEventRecord(url, scope, value);

  const ours: LatencySummary[] = [];
  const raw: LatencySummary[] = [];
  const statements: LatencySummary[] = [];
  const timed = async (set: () => Promise<unknown>): Promise<LatencySummary> => {
    for (let i = 0; i < warmup; i++) await set();
    const samples = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      const start = now();
      await set();
      samples[i] = elapsedNs(start);
    }
    return summarize(samples);
  };
  const runOurs = async () => {
    gc();
    ours.push(await withSchema(url, 'p1', (schema) => withPostgresRuntime(url, schema, (rt) => timed(() => rt.state.set(scope, 'topic', value)))));
  };
  const runRaw = async () => {
    gc();
    raw.push(
      await withSchema(url, 'p1raw', async (schema) => {
        const db = await RawPg.open(url, schema);
        let seq = 0;
        try {
          return await timed(() => db.setPair(state, { sublevel: 'events', key: eventLog.encodeSeqKey(++seq), value: eventValue }));
        } finally {
          await db.close();
        }
      }),
    );
  };
  const runStatements = async () => {
    gc();
    statements.push(
      await withSchema(url, 'p1sql', async (schema) => {
        const db = await BackendStatements.open(url, schema, [scope.toString()]);
        try {
          return await timed(() => db.commit([state], eventValue, [scope.toString()]));
        } finally {
          await db.close();
        }
      }),
    );
  };
  for (let rep = 0; rep < ctx.reps; rep++) {
    await inAlternatingOrder(rep, runOurs, runRaw, runStatements);
    ctx.log(
      `PG P1 rep ${rep + 1}/${ctx.reps}: set p50 ${fmtNs(ours.at(-1)!.p50)}, raw pg p50 ${fmtNs(raw.at(-1)!.p50)}, ` +
        `the backend's statements p50 ${fmtNs(statements.at(-1)!.p50)}`,
    );
  }

  const o = medianSummary(ours);
  const r = medianSummary(raw);
  const b = medianSummary(statements);
  const row = (metric: 'p50' | 'p95' | 'mean', judged: boolean): ResultRow => ({
    id: 'PG P1',
    metric: `awaited set: ${metric}`,
    ours: fmtNs(o[metric]),
    raw: fmtNs(r[metric]),
    ratio: fmtRatio(o[metric] / r[metric]),
    goal: judged ? `≤ ${GOAL}×` : '(info)',
    ...(judged ? { pass: o[metric] / r[metric] <= GOAL } : {}),
  });
  const statementsRow = (metric: 'p50' | 'mean'): ResultRow => ({
    id: 'PG P1',
    metric: `the backend's statements sent raw: ${metric}`,
    ours: fmtNs(b[metric]),
    raw: fmtNs(r[metric]),
    ratio: fmtRatio(b[metric] / r[metric]),
    goal: '(info)',
  });
  return {
    rows: [row('p50', true), row('mean', true), row('p95', false), statementsRow('p50'), statementsRow('mean')],
    notes: [
      `P1: ${count} awaited sets after ${warmup} warm-up ones, per repetition. Each is one transaction in two round trips: ` +
        'BEGIN, UPDATE commit_sequence … RETURNING and the read of the lease; then the upsert of the state record and the event-log record, and COMMIT.',
      `P1 raw: the same two rows (${state.value.length} B state record, ${eventValue.length} B event-log record) in one prepared ` +
        "INSERT … VALUES ('state', $1, $2), ('events', $3, $4) ON CONFLICT … DO UPDATE, committed on its own: one round trip.",
      "P1 the backend's statements: raw pg sending, for each set, the two round trips the backend sends (src/storage/postgresSql.ts), " +
        'the lease check and the sequence included, on a schema the backend made: what the SQL costs without the runtime around it.',
    ],
    data: { ours, raw, statements, median: { ours: o, raw: r, statements: b } },
  };
}

/** The event-log record the runtime writes for one set of `value`, read back from a scratch schema. */
async function oneSetsEventRecord(url: string, scope: Scope, value: unknown): Promise<Buffer> {
  return withSchema(url, 'p1calibrate', async (schema) => {
    await withPostgresRuntime(url, schema, (rt) => rt.state.set(scope, 'topic', value));
    return withClient(url, async (client) => {
      const found = await client.query<{ value: Buffer }>(`SELECT value FROM "${schema}".records WHERE sublevel = 'events' ORDER BY key DESC LIMIT 1`);
      return found.rows[0].value;
    });
  });
}
