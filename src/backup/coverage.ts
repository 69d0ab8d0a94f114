import type { SublevelName } from '../storage/index.js';

/**
 * How a backup holds each namespace of the store. Typed over every sublevel, so that a namespace added
 * later does not compile until someone decides how it is backed up (and test/backup/coverage.test.ts
 * checks the run-time list against SUBLEVELS).
 *
 * - `state`: a full backup copies every record; an incremental one holds the keys that the event log
 *   says changed since its parent (their current value, or a tombstone), and a range tombstone for each
 *   cleared scope.
 * - `events`: the commit records above the parent's sequence, and a range tombstone for what event
 *   retention removed.
 * - `eventIndex`: entries derived from commit records. An incremental backup holds those of its new
 *   records; a restore drops the entries of the records that a range tombstone removes.
 * - `whole`: small namespaces (or ones whose deletes the log does not describe) are copied whole into
 *   every backup, incremental or not, after a tombstone for the whole namespace.
 * - `excluded`, with the reason.
 */
export type Coverage = 'state' | 'events' | 'eventIndex' | 'whole' | { excluded: string };

export const BACKUP_COVERAGE: Readonly<Record<SublevelName, Coverage>> = {
  state: 'state',
  events: 'events',
  eventsByCorrelation: 'eventIndex',
  eventsByAgent: 'eventIndex',
  outbox: 'whole',
  hooks: 'whole',
  hookHistory: 'whole',
  hookHistoryByCorrelation: 'whole',
  hookDeadLetters: 'whole',
  audit: 'whole',
  agents: 'whole',
  meta: 'whole',
  backups: {
    excluded:
      'the catalog lives in the backup directory, beside the files it describes, so that it survives restores and the loss of the data directory',
  },
  access: 'whole',
  migrations: {
    excluded:
      'the journal of a migration that is running; backups wait for a migration to finish, and one found at open is finished or discarded before anything reads the store',
  },
  sessions: 'whole',
};

/** The namespaces a backup holds, in the order it writes them. */
export function backedUpSublevels(): SublevelName[] {
  return (Object.keys(BACKUP_COVERAGE) as SublevelName[]).filter((name) => typeof BACKUP_COVERAGE[name] === 'string');
}
