import { LlmStateError } from '../../errors.js';

/** Where in a backup file the damage is. */
export type DamageRegion = 'magic' | 'header' | 'key' | 'frame' | 'body' | 'trailer' | 'truncated' | 'appended';

/**
 * A BACKUP_CORRUPT error whose message names the file and where the damage is, and whose details carry
 * `{ file, offset?, region }` for a program to act on.
 */
export function backupCorrupt(file: string, region: DamageRegion, what: string, offset?: number, cause?: unknown): LlmStateError {
  return new LlmStateError('BACKUP_CORRUPT', `The backup file ${file} is damaged: ${what}. Verify the other copies of this backup, or use another backup.`, {
    ...(cause === undefined ? {} : { cause }),
    details: { file, region, ...(offset === undefined ? {} : { offset }) },
  });
}
