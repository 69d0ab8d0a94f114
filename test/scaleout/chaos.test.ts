import assert from 'node:assert/strict';
import { describePostgres, freshPostgresSchema, type PostgresTestSchema } from '../support/postgres.js';
import { chaosViolations } from './chaosCheck.js';
import { ChaosRun, type ChaosOptions } from './chaosRun.js';

/**
 * The seeds CI runs. LLMSTATE_CHAOS_SEEDS (`7,8,9`) runs others; a failure names its seed, its faults and
 * what its writes were told. LLMSTATE_CHAOS_REPORT=1 prints that for runs that pass too.
 */
const SEEDS = (process.env.LLMSTATE_CHAOS_SEEDS ?? '1,2')
  .split(',')
  .filter((seed) => seed.trim() !== '')
  .map(Number);

const OPTIONS: Omit<ChaosOptions, 'seed'> = {
  durationMs: 6000,
  ttlMs: 1000,
  processes: 3,
  agents: 12,
  keysPerAgent: 3,
  readers: 3,
  transactions: 4,
  chatAgents: 3,
  faults: 5,
  misrouted: 0.05,
  patienceMs: 500,
};

describePostgres('scale-out: seeded faults across processes', function () {
  this.timeout(180_000);
  let store: PostgresTestSchema;
  let run: ChaosRun | undefined;

  beforeEach(() => {
    store = freshPostgresSchema();
  });

  afterEach(async () => {
    try {
      await run?.close();
    } finally {
      run = undefined;
      await store.drop();
    }
  });

  for (const seed of SEEDS) {
    it(`seed ${seed}: through kills, pauses, partitions and dropped connections, writes keep their order, no acknowledged one is lost, no stale or refused one applied, and each event is delivered once`, async () => {
      const options = { ...OPTIONS, seed };
      run = new ChaosRun(store, options);
      const { record, summary } = await run.run();
      const report = `seed ${seed}, faults ${JSON.stringify(summary.faults)}, writes ${JSON.stringify(summary.outcomes)}, ${summary.reads} reads`;
      if (process.env.LLMSTATE_CHAOS_REPORT === '1') process.stderr.write(`${report}\n`);
      const violations = chaosViolations(record);
      assert.equal(violations.length, 0, `${violations.length} violations; ${report}:\n${violations.slice(0, 30).join('\n')}`);
      assert.ok((summary.outcomes.acked ?? 0) >= 200, `the run did too little to tell anything: ${report}`);
    });
  }
});
