export { StorageBackend, SUBLEVELS, WATCHED_SUBLEVELS, isUnknownOutcome, storageError } from './StorageBackend.js';
export type {
  BatchOp,
  BatchOptions,
  CommitOptions,
  LeaseAttempt,
  LeaseHold,
  LeaseRecord,
  SequencedCommit,
  Entry,
  RangeOptions,
  ReadOptions,
  StorageInterceptor,
  StorageSnapshot,
  StorageStatus,
  SublevelName,
  ForeignChange,
  WatchedSublevel,
} from './StorageBackend.js';
export { LevelBackend, createDiskBackend, createMemoryBackend, createMemoryDatabase } from './LevelBackend.js';
export { PostgresBackend, createPostgresBackend } from './PostgresBackend.js';
export type { PostgresOptions } from './postgresOptions.js';
