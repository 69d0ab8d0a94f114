import { LlmStateError } from '../../errors.js';

/** Where in a backup file the damage is. */
export type DamageRegion = 'magic' | 'header' | 'key' | 'frame' | 'body' | 'trailer' | 'truncated' | 'appended';

/**
 * A BACKUP_CORRUPT error whose message names the file and where the damage is, and whose details carry
 * `{ file, offset?, region }` for a program to act on.
 */
export function backupCorrupt(file: string, region: DamageRegion, what: string, offset?: number, cause?: unknown): LlmStateError {
  // A wrong key is not damage: the file may be intact, and the right key opens it.
  const message =
    region === 'key'
      ? `The backup file ${file} cannot be decrypted with this key: ${what}. Give the key it was encrypted with.`
      : `The backup file ${file} is damaged: ${what}. Verify the other copies of this backup, or use another backup.`;
  return new LlmStateError('BACKUP_CORRUPT', message, {
    ...(cause === undefined ? {} : { cause }),
    details: { file, region, ...(offset === undefined ? {} : { offset }) },
  });
}
