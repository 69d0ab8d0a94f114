/**
 * `llmstate/testing`: tools for testing agents built on llmstate.
 *
 * `checkLinearizable` checks a history of `rt.state` calls against the per-key register model of
 * DESIGN invariant 4. See docs/testing.md.
 */
export { checkLinearizable } from './linearizability.js';
export type { LinearizabilityResult, LinearizabilityOptions } from './linearizability.js';
export { describeEntry } from './history.js';
export type { HistoryEntry, TransactionWrite } from './history.js';
export { simulate, SimulationFailure } from './simulate.js';
export type { SimulateOptions, ReplayOptions, FaultOptions, PlannedFault, SimulationBody } from './simulate.js';
export type { Simulation, SimulatedRuntime } from './Simulation.js';
