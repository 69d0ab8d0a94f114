import type { BackupProgress } from '../backup/Backups.js';
import { shortBytes } from './output.js';
import { withProgressBar } from './progressBar.js';

const PHASES: Record<BackupProgress['phase'], string> = {
  backup: 'backing up',
  safety: 'safety backup',
  verify: 'verifying',
  restore: 'reading backups',
  replay: 'replaying the log',
  switch: 'switching stores',
};

const FORMATS = {
  knownTotal: '{phase} {bar} {percentage}% | {records} records | {done} of {size} | ETA {time_left}',
  unknownTotal: '{phase} | {records} records | {done}',
};

/**
 * Runs a backup operation with a bar of its records and bytes (and an ETA when the total is known) on
 * stderr when it is a terminal; quietly otherwise. Each phase of a restore gets a bar of its own.
 */
export function withBackupProgress<T>(work: (onProgress: ((progress: BackupProgress) => void) | undefined) => Promise<T>): Promise<T> {
  return withProgressBar(FORMATS, (bar) => {
    if (bar === undefined) return work(undefined);
    let phase: BackupProgress['phase'] | undefined;
    return work((progress) => {
      if (phase !== undefined && progress.phase !== phase) bar.stop();
      phase = progress.phase;
      bar.update(progress.bytes, progress.totalBytes, {
        phase: PHASES[progress.phase],
        records: String(progress.records),
        done: shortBytes(progress.bytes),
        // The total of a backup is an estimate, which the bytes may pass.
        size: shortBytes(Math.max(progress.totalBytes ?? 0, progress.bytes)),
      });
    });
  });
}
