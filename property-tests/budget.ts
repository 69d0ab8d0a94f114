/** The number of runs a property gets: the test's own default, or `--runs N` from the runner. */
export function runs(defaultRuns: number): number {
  const override = Number(process.env.LLMSTATE_PROP_RUNS);
  return Number.isSafeInteger(override) && override > 0 ? override : defaultRuns;
}
