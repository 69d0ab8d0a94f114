/** What long backup operations report as they go, for a progress bar. */
export interface BackupProgress {
  /**
   * `backup` (writing one), `verify`, and for a restore: `restore` (reading the chain into staging),
   * `replay` (the log, for a point in time), `safety` (the backup before the switch) and `switch` (once,
   * just before the switch or, for some scopes, the batch).
   */
  phase: 'backup' | 'safety' | 'verify' | 'restore' | 'replay' | 'switch';
  records: number;
  /** Bytes of keys and values so far (`backup`), or of backup files read (`verify`, `restore`). */
  bytes: number;
  /** What `bytes` will reach, when it is known (an estimate for `backup`). */
  totalBytes?: number;
}

const EVERY_RECORDS = 4096;

/** Counts records and bytes, and reports every few thousand records and once at the end. */
export function progressCounter(phase: BackupProgress['phase'], totalBytes: number | undefined, report: ((progress: BackupProgress) => void) | undefined) {
  let records = 0;
  let bytes = 0;
  const emit = () => report?.({ phase, records, bytes, ...(totalBytes === undefined ? {} : { totalBytes }) });
  return {
    add(size: number): void {
      records++;
      bytes += size;
      if (records % EVERY_RECORDS === 0) emit();
    },
    /** Sets the bytes so far, for phases that count what they read rather than what they yield. */
    setBytes(value: number): void {
      bytes = value;
    },
    done: emit,
  };
}

/**
 * Progress over the files of a chain, read one after another: each file's own reports (records and
 * bytes read so far in it) become totals over the chain.
 */
export function chainProgress(
  phase: BackupProgress['phase'],
  chain: ReadonlyArray<{ bytes: number }>,
  report: ((progress: BackupProgress) => void) | undefined,
): (index: number, progress: { records: number; bytes: number }) => void {
  const totalBytes = chain.reduce((sum, backup) => sum + backup.bytes, 0);
  const before = chain.map((_, index) => chain.slice(0, index).reduce((sum, backup) => sum + backup.bytes, 0));
  const recordsBefore: number[] = [];
  let lastRecords = 0;
  return (index, progress) => {
    if (recordsBefore[index] === undefined) recordsBefore[index] = lastRecords;
    lastRecords = recordsBefore[index] + progress.records;
    report?.({ phase, records: lastRecords, bytes: before[index] + progress.bytes, totalBytes });
  };
}
