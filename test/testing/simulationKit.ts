import assert from 'node:assert/strict';
import { simulate, SimulationFailure, type SimulateOptions, type SimulationBody } from '../../src/testing/simulate.js';

/** The SimulationFailure that `simulate.assert` rejects with; fails the test if it resolves or throws anything else. */
export async function failureOf(body: SimulationBody, options: SimulateOptions): Promise<SimulationFailure> {
  const error = await simulate.assert(body, options).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof SimulationFailure, `expected a SimulationFailure, got ${String(error)}`);
  return error;
}
