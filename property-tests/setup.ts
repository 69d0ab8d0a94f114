/**
 * fast-check's settings for the property tests, loaded in each of the runner's worker processes
 * (see run.ts): the runs and seed the runner was given reach them through the environment.
 */
import fc from 'fast-check';

const runs = Number(process.env.LLMSTATE_PROP_RUNS);
const seed = Number(process.env.LLMSTATE_PROP_SEED);
fc.configureGlobal({
  ...(Number.isSafeInteger(runs) && runs > 0 ? { numRuns: runs } : {}),
  ...(process.env.LLMSTATE_PROP_SEED !== undefined && Number.isSafeInteger(seed) ? { seed } : {}),
  // Print the seed and the shrunk counterexample on failure, so a failure can be replayed.
  verbose: 1,
});
