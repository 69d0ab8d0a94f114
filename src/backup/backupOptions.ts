import type { BackupKeyInput, Compression } from './file/index.js';
import type { RetentionPolicy } from './retention.js';

/** The `backups` option of `createRuntime`. */
export interface BackupRuntimeOptions {
  /** Where backup files go. @default `<dataDir>/backups`; a memory or PostgreSQL runtime has none unless given */
  dir?: string;
  /** Take a backup every this many ms (on the runtime's `timers`). @default never */
  every?: number;
  /** Scheduled backups are incremental when they can be (a full one otherwise). @default false */
  incremental?: boolean;
  /** Pruned after each scheduled backup, and the default policy of `prune()` and `plan()`. */
  retention?: RetentionPolicy;
  /** @default 'brotli' */
  compression?: Compression;
  /** Encrypt every backup (the key from `key` or `LLMSTATE_BACKUP_KEY`). @default false */
  encrypt?: boolean;
  /** A 32-byte Buffer, or a passphrase. */
  key?: BackupKeyInput;
}
