export { LlmStateSaver } from './LlmStateSaver.js';
export type { LlmStateSaverOptions, SaverRuntime } from './LlmStateSaver.js';
export { SqliteCheckpoints } from './SqliteCheckpoints.js';
export type { OpenSqliteCheckpointsOptions, SqliteCheckpointRef, SqliteThread } from './SqliteCheckpoints.js';
export { importSqliteCheckpoints } from './importSqliteCheckpoints.js';
export type { ImportedThread, ImportProgress, ImportSqliteOptions, SqliteImportResult } from './importSqliteCheckpoints.js';
