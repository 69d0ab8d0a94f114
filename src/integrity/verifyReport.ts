import type { SublevelName } from '../storage/index.js';
import type { WalCheck } from '../storage/walCheck.js';

/** One damaged thing that {@link verifyStore} found. */
export interface Problem {
  /** The namespace it is in, or `log` and `table` for LevelDB's write-ahead log and table files. */
  sublevel: SublevelName | 'log' | 'table';
  /** Its key, as text with bytes that are not printable UTF-8 in hex; a file name or a sequence range. */
  key: string;
  /**
   * `record`: fails its checksum or does not decode. `sequence`: commit records missing. `index`: points
   * at nothing. `log`: a damaged write-ahead log. `table`: a table block whose checksum fails.
   */
  kind: 'record' | 'sequence' | 'index' | 'log' | 'table';
  message: string;
}

/** What {@link verifyStore} found. */
export interface VerifyReport {
  /** True when nothing is damaged. */
  ok: boolean;
  /** The LevelDB directory checked. */
  location: string;
  /** Records read, in all. */
  records: number;
  bySublevel: Partial<Record<SublevelName, number>>;
  /** Every problem found, up to the first 1,000; `problemCount` counts them all. */
  problems: Problem[];
  problemCount: number;
  /** The write-ahead logs as LevelDB would replay them. */
  logs: WalCheck;
  /**
   * LevelDB's table files, every block's checksum checked. `unfinished` counts compaction outputs cut
   * short by a close or crash (no footer), which LevelDB deletes at its next open.
   */
  tables: { files: number; blocks: number; damaged: number; unfinished: number };
  events: {
    oldestSeq: number | undefined;
    newestSeq: number | undefined;
    /** The highest sequence retention removed. */
    highWater: number;
    /** Missing ranges of commit records, including those a repair already reported. */
    gaps: { from: number; to: number }[];
  };
  /** Losses that earlier repairs accepted; they are reported, not counted as new damage. */
  repairs: RepairRecord[];
  /** Set when the records could not be read, because the logs are damaged: run repair first. */
  skipped?: string;
}

/** What a repair left on record in the store (meta `repairs`). */
export interface RepairRecord {
  /** ISO 8601 time of the repair. */
  at: string;
  /** Bytes of the write-ahead logs that LevelDB dropped. */
  droppedBytes: number;
  /** Commit sequences missing from the event log after the repair. */
  missing: { from: number; to: number }[];
  /** Where the damaged logs were copied, if any were. */
  copy: string | undefined;
}

export const MAX_PROBLEMS = 1000;

/** A stored key for a message: UTF-8 text when it is printable, with 0x00 separators as `/`; hex otherwise. */
export function displayKey(key: Buffer): string {
  const text = key.toString('utf8');
  if (Buffer.from(text, 'utf8').equals(key) && !/[\u0001-\u001f\u007f-\u009f\ufffd]/.test(text)) return text.replaceAll('\u0000', '/');
  return `0x${key.toString('hex')}`;
}
