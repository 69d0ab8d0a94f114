/**
 * `llmstate/testing`: tools for testing agents built on llmstate.
 *
 * `checkLinearizable` checks a history of `rt.state` calls against the per-key register model of
 * DESIGN invariant 4. `simulate` runs a body under a seeded scheduler. `scopes`, `keys`, `jsonValues` and
 * `operations` are fast-check arbitraries for properties of your own. `assertMigrates` tests schema
 * migrations against fixtures. See docs/testing.md.
 */
export { checkLinearizable } from './linearizability.js';
export type { LinearizabilityResult, LinearizabilityOptions } from './linearizability.js';
export { describeEntry } from './history.js';
export type { HistoryEntry, TransactionWrite } from './history.js';
export { simulate, SimulationFailure } from './simulate.js';
export type { SimulateOptions, ReplayOptions, FaultOptions, FaultKind, PlannedFault, SimulationBody } from './simulate.js';
export type { Simulation, SimulatedRuntime } from './Simulation.js';
export { scopes } from './scopes.js';
export type { ScopesOptions } from './scopes.js';
export { keys, invalidKeys } from './keys.js';
export type { KeysOptions, InvalidKey, InvalidKeysOptions } from './keys.js';
export { jsonValues } from './jsonValues.js';
export type { JsonValuesOptions } from './jsonValues.js';
export { operations, concurrentOperations, describeOperation, OPERATION_KINDS } from './operations.js';
export type { Operation, TransactionStep, OperationKind, OperationsOptions, ConcurrentOperationsOptions } from './operations.js';
export { applyOperation } from './applyOperation.js';
export { assertMigrates } from './assertMigrates.js';
export type { MigrationFixture, MigrationUnderTest } from './assertMigrates.js';
export type { OperationResult, StateSurface } from './applyOperation.js';
