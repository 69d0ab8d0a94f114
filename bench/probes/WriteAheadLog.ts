/**
 * A commit log in front of LevelDB, as an experiment (scope item 4 of the performance issue): a batch is
 * acknowledged once one framed record holding all its operations is written to an append-only file with
 * one `write` system call on the calling thread, and LevelDB is brought up to date in the background.
 *
 * Written as it would be adopted, to measure what adoption would cost: CRC-checked frames, partial-write
 * rollback, one background apply in flight, read barriers, recovery that stops at a torn tail, and
 * rotation into numbered files that are deleted once applied. Not used by the runtime.
 *
 * Frame layout (all integers big-endian):
 *
 * | bytes | field |
 * |---|---|
 * | 0–3 | length of bytes 8…end |
 * | 4–7 | CRC32 of bytes 8…end (the runtime's CRC32, `zlib.crc32`, as in recordEnvelope.ts) |
 * | 8–13 | frame sequence, unsigned 48-bit |
 * | 14… | operations: u8 type (0 put, 1 del), u8 sublevel index, u32 key length, [u32 value length], key, [value] |
 */
import {
  closeSync,
  fdatasync,
  fdatasyncSync,
  ftruncateSync,
  openSync,
  readdirSync,
  readFileSync,
  unlinkSync,
  writeSync,
  writevSync,
} from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { SUBLEVELS, type BatchOp, type SublevelName } from '../../src/storage/StorageBackend.js';

/**
 * Writes operations to the store as one atomic batch: LevelBackend's `_batch`, or {@link levelApply} over a
 * raw classic-level. `sync` asks for the store's own fsync.
 */
export type ApplyBatch = (ops: readonly BatchOp[], sync: boolean) => Promise<void>;

interface ChainedBatchDb {
  batch(): { put(key: Buffer, value: Buffer): unknown; del(key: Buffer): unknown; write(options?: object): Promise<void> };
}

/** LevelBackend's batch shape over a raw classic-level: one chained batch on the root, sublevel prefixes applied here. */
export function levelApply(db: ChainedBatchDb): ApplyBatch {
  return (ops, sync) => {
    const batch = db.batch();
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i];
      if (op.type === 'put') batch.put(prefixed(op.sublevel, op.key), op.value);
      else batch.del(prefixed(op.sublevel, op.key));
    }
    return sync ? batch.write({ sync: true }) : batch.write();
  };
}

const FRAME_HEADER = 14;
const CHECKED_FROM = 8;
const PUT = 0;
const DEL = 1;
const OP_HEADER_PUT = 10;
const OP_HEADER_DEL = 6;
/** Linux's IOV_MAX: above it writev would be split by libuv into several system calls. */
const IOV_MAX = 1024;
const LOG_NAME = /^commit-(\d{6})\.log$/;
const SUBLEVEL_INDEX = new Map<SublevelName, number>(SUBLEVELS.map((name, i) => [name, i]));
/** abstract-level's default sublevel prefixes, `!name!`, as LevelBackend applies them. */
const PREFIXES = SUBLEVELS.map((name) => Buffer.from(`!${name}!`, 'utf8'));

export interface WriteAheadLogOptions {
  /** 'process': acknowledged after write(2); 'sync': also after fdatasync. @default 'process' */
  durability?: 'process' | 'sync';
  /** 'copy': one buffer per frame; 'writev': header buffers plus the callers' key and value buffers. @default 'copy' */
  form?: 'copy' | 'writev';
  /** In 'sync', whether fdatasync blocks the main thread (sync call) or goes to the thread pool. @default 'blocking' */
  syncCall?: 'blocking' | 'threadpool';
  /** A new log file is started once the current one passes this size. @default 4 MiB */
  rotateBytes?: number;
  /** The most operations one background LevelDB batch takes (bounds the main thread's stall in the native call). @default 8192 */
  applyMaxOps?: number;
  /**
   * Appends wait for the apply once this many bytes of frames are unapplied (backpressure); 0 disables.
   * It bounds the memory held for the apply, and with `rotateBytes` what a reopen replays. @default 4 MiB
   */
  maxPendingBytes?: number;
}

export interface RecoveryReport {
  files: number;
  frames: number;
  ops: number;
  bytes: number;
  /** Bytes after the last intact frame of the newest file: a write cut short by a crash. */
  tornBytes: number;
  scanMs: number;
  applyMs: number;
}

export interface ApplyStats {
  applies: number;
  framesApplied: number;
  /** Pending frames seen at each append, summed (for the mean) and at most. */
  pendingFramesSum: number;
  pendingFramesMax: number;
  pendingBytesMax: number;
  /** Time from a frame's append to the end of the LevelDB batch that applied it, summed over frames and at most (ms). */
  lagMsSum: number;
  lagMsMax: number;
  appends: number;
  backpressureWaits: number;
  rotations: number;
}

interface PendingFrame {
  seq: number;
  /** performance.now() at the append. */
  at: number;
  bytes: number;
  ops: readonly BatchOp[];
}

interface CatchUp {
  seq: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

interface LogFile {
  number: number;
  fd: number;
  bytes: number;
  /** The sequence of the last frame written to it. */
  lastSeq: number;
}

/** Encodes `ops` as one frame (header included) in a single buffer. */
export function encodeFrame(seq: number, ops: readonly BatchOp[]): Buffer {
  let size = FRAME_HEADER;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    size += op.type === 'put' ? OP_HEADER_PUT + op.key.length + op.value.length : OP_HEADER_DEL + op.key.length;
  }
  const frame = Buffer.allocUnsafe(size);
  frame.writeUInt32BE(size - CHECKED_FROM, 0);
  frame.writeUIntBE(seq, 8, 6);
  let at = FRAME_HEADER;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    frame[at] = op.type === 'put' ? PUT : DEL;
    frame[at + 1] = SUBLEVEL_INDEX.get(op.sublevel)!;
    frame.writeUInt32BE(op.key.length, at + 2);
    if (op.type === 'put') {
      frame.writeUInt32BE(op.value.length, at + 6);
      at += OP_HEADER_PUT;
      at += op.key.copy(frame, at);
      at += op.value.copy(frame, at);
    } else {
      at += OP_HEADER_DEL;
      at += op.key.copy(frame, at);
    }
  }
  frame.writeUInt32BE(crc32(frame.subarray(CHECKED_FROM)), 4);
  return frame;
}

/**
 * The same frame as {@link encodeFrame}, as a list of buffers that reuses the callers' keys and values: one
 * small buffer holds the frame header and every operation header, and the list points into it.
 */
export function encodeFrameVector(seq: number, ops: readonly BatchOp[]): { buffers: Buffer[]; bytes: number } {
  let headers = FRAME_HEADER;
  for (let i = 0; i < ops.length; i++) headers += ops[i].type === 'put' ? OP_HEADER_PUT : OP_HEADER_DEL;
  const head = Buffer.allocUnsafe(headers);
  const buffers: Buffer[] = [head.subarray(0, FRAME_HEADER)];
  head.writeUIntBE(seq, 8, 6);
  let crc = crc32(head.subarray(CHECKED_FROM, FRAME_HEADER));
  let at = FRAME_HEADER;
  let bytes = FRAME_HEADER;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    const start = at;
    head[at] = op.type === 'put' ? PUT : DEL;
    head[at + 1] = SUBLEVEL_INDEX.get(op.sublevel)!;
    head.writeUInt32BE(op.key.length, at + 2);
    if (op.type === 'put') {
      head.writeUInt32BE(op.value.length, at + 6);
      at += OP_HEADER_PUT;
    } else at += OP_HEADER_DEL;
    const opHead = head.subarray(start, at);
    crc = crc32(opHead, crc);
    crc = crc32(op.key, crc);
    buffers.push(opHead, op.key);
    bytes += opHead.length + op.key.length;
    if (op.type === 'put') {
      crc = crc32(op.value, crc);
      buffers.push(op.value);
      bytes += op.value.length;
    }
  }
  head.writeUInt32BE(bytes - CHECKED_FROM, 0);
  head.writeUInt32BE(crc, 4);
  return { buffers, bytes };
}

/** Decodes the operations of one verified frame payload (bytes 14…end). */
function decodeOps(frame: Buffer): BatchOp[] {
  const ops: BatchOp[] = [];
  let at = FRAME_HEADER;
  while (at < frame.length) {
    const type = frame[at];
    const sublevel = SUBLEVELS[frame[at + 1]];
    const keyLength = frame.readUInt32BE(at + 2);
    if (type === PUT) {
      const valueLength = frame.readUInt32BE(at + 6);
      at += OP_HEADER_PUT;
      const key = frame.subarray(at, (at += keyLength));
      ops.push({ type: 'put', sublevel, key, value: frame.subarray(at, (at += valueLength)) });
    } else {
      at += OP_HEADER_DEL;
      ops.push({ type: 'del', sublevel, key: frame.subarray(at, (at += keyLength)) });
    }
  }
  return ops;
}

/** Writes all of `buffers` at the end of `fd`, looping over short writes. Returns the system calls made. */
function writeAll(fd: number, buffers: Buffer[], bytes: number): number {
  let calls = 0;
  if (buffers.length === 1) {
    let done = 0;
    while (done < bytes) {
      done += writeSync(fd, buffers[0], done, bytes - done);
      calls++;
    }
    return calls;
  }
  let done = writevSync(fd, buffers);
  calls++;
  if (done === bytes) return calls;
  // A short writev (disk nearly full, a signal): finish with the rest, copied once.
  const rest = Buffer.concat(buffers).subarray(done);
  for (let off = 0; off < rest.length; ) {
    off += writeSync(fd, rest, off, rest.length - off);
    calls++;
  }
  return calls;
}

export function prefixed(sublevel: SublevelName, key: Buffer): Buffer {
  const prefix = PREFIXES[SUBLEVEL_INDEX.get(sublevel)!];
  const out = Buffer.allocUnsafe(prefix.length + key.length);
  prefix.copy(out, 0);
  key.copy(out, prefix.length);
  return out;
}

/**
 * One commit log over one LevelDB. `append` acknowledges after the frame is in the file; LevelDB is
 * updated by one background batch at a time, taking every frame appended since the last one.
 */
export class WriteAheadLog {
  readonly #dir: string;
  readonly #apply: ApplyBatch;
  readonly #options: Required<WriteAheadLogOptions>;
  #file: LogFile;
  /** Older files, each deleted once every frame in it is applied. */
  #retired: LogFile[] = [];
  #seq: number;
  #appliedSeq: number;
  #pending: PendingFrame[] = [];
  #pendingBytes = 0;
  #applying: Promise<void> | undefined;
  #applyError: unknown;
  #catchUp: CatchUp[] = [];
  #roomWaiters: CatchUp[] = [];
  #closed = false;
  readonly stats: ApplyStats = {
    applies: 0,
    framesApplied: 0,
    pendingFramesSum: 0,
    pendingFramesMax: 0,
    pendingBytesMax: 0,
    lagMsSum: 0,
    lagMsMax: 0,
    appends: 0,
    backpressureWaits: 0,
    rotations: 0,
  };
  /** write/writev system calls made by appends. */
  writeCalls = 0;

  private constructor(dir: string, apply: ApplyBatch, options: Required<WriteAheadLogOptions>, file: LogFile, seq: number) {
    this.#dir = dir;
    this.#apply = apply;
    this.#options = options;
    this.#file = file;
    this.#seq = seq;
    this.#appliedSeq = seq;
  }

  /**
   * Opens the log in `dir` in front of an open store written by `apply`: replays every intact frame of every log file, in
   * order, into LevelDB (idempotent: the same puts and deletes in the same order), syncs, deletes the files,
   * and starts a new one.
   */
  static async open(dir: string, apply: ApplyBatch, options: WriteAheadLogOptions = {}): Promise<{ log: WriteAheadLog; recovery: RecoveryReport }> {
    const resolved: Required<WriteAheadLogOptions> = {
      durability: 'process',
      form: 'copy',
      syncCall: 'blocking',
      rotateBytes: 4 * 1024 * 1024,
      applyMaxOps: 8192,
      maxPendingBytes: 4 * 1024 * 1024,
      ...options,
    };
    const { recovery, lastSeq, lastNumber } = await recover(dir, apply, resolved.applyMaxOps);
    const number = lastNumber + 1;
    const file: LogFile = { number, fd: openSync(join(dir, logName(number)), 'a'), bytes: 0, lastSeq };
    return { log: new WriteAheadLog(dir, apply, resolved, file, lastSeq), recovery };
  }

  /** Frames not yet in LevelDB. */
  get pendingFrames(): number {
    return this.#pending.length;
  }

  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /**
   * Appends `ops` as one frame and resolves once it is in the file (and synced, under 'sync'). The
   * frame either reads back whole after a crash or not at all; a failed write is cut off again, so that
   * no garbage sits in front of later frames.
   */
  batch(ops: readonly BatchOp[]): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('The commit log is closed'));
    if (this.#applyError !== undefined) return Promise.reject(this.#applyError);
    const max = this.#options.maxPendingBytes;
    if (max > 0 && this.#pendingBytes >= max) {
      // LevelDB is behind: wait for the apply in flight to make room. The wait is also what lets a caller
      // that never yields to the event loop (an acknowledgement needs no I/O) give the apply's completion a turn.
      this.stats.backpressureWaits++;
      return new Promise<void>((resolve, reject) => this.#roomWaiters.push({ seq: 0, resolve, reject })).then(() => this.batch(ops));
    }
    const seq = this.#seq + 1;
    let buffers: Buffer[];
    let bytes: number;
    if (this.#options.form === 'writev' && ops.length * 3 + 1 <= IOV_MAX) {
      ({ buffers, bytes } = encodeFrameVector(seq, ops));
    } else {
      const frame = encodeFrame(seq, ops);
      buffers = [frame];
      bytes = frame.length;
    }
    const file = this.#file;
    try {
      this.writeCalls += writeAll(file.fd, buffers, bytes);
    } catch (error) {
      ftruncateSync(file.fd, file.bytes);
      return Promise.reject(error);
    }
    this.#seq = seq;
    file.bytes += bytes;
    file.lastSeq = seq;
    this.#pending.push({ seq, at: performance.now(), bytes, ops });
    this.#pendingBytes += bytes;
    const stats = this.stats;
    stats.appends++;
    stats.pendingFramesSum += this.#pending.length;
    if (this.#pending.length > stats.pendingFramesMax) stats.pendingFramesMax = this.#pending.length;
    if (this.#pendingBytes > stats.pendingBytesMax) stats.pendingBytesMax = this.#pendingBytes;
    if (file.bytes >= this.#options.rotateBytes) this.#rotate();
    this.#startApply();
    if (this.#options.durability !== 'sync') return Promise.resolve();
    if (this.#options.syncCall === 'blocking') {
      fdatasyncSync(file.fd);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => fdatasync(file.fd, (error) => (error ? reject(error) : resolve())));
  }

  /** Resolves once every frame acknowledged so far is in LevelDB: the read barrier. */
  caughtUp(): Promise<void> {
    if (this.#appliedSeq >= this.#seq) return Promise.resolve();
    return this.#waitFor(this.#seq);
  }


  /** Drains the apply, deletes every log file and closes. */
  async close(): Promise<void> {
    await this.caughtUp();
    this.#closed = true;
    await this.#applying;
    // Under 'sync' the background batches were not synced, so LevelDB is synced before its logs go.
    if (this.#options.durability === 'sync') await this.#syncLevel();
    for (const file of [...this.#retired, this.#file]) {
      closeSync(file.fd);
      unlinkSync(join(this.#dir, logName(file.number)));
    }
    this.#retired = [];
  }

  /** Stops as a killed process would: no drain, files left as they are. For tests. */
  abandon(): void {
    this.#closed = true;
    for (const file of [...this.#retired, this.#file]) closeSync(file.fd);
  }

  #waitFor(seq: number): Promise<void> {
    if (this.#applyError !== undefined) return Promise.reject(this.#applyError);
    return new Promise((resolve, reject) => this.#catchUp.push({ seq, resolve, reject }));
  }

  #rotate(): void {
    const number = this.#file.number + 1;
    this.#retired.push(this.#file);
    this.#file = { number, fd: openSync(join(this.#dir, logName(number)), 'a'), bytes: 0, lastSeq: this.#seq };
    this.stats.rotations++;
  }

  #startApply(): void {
    if (this.#applying !== undefined || this.#pending.length === 0) return;
    this.#applying = this.#applyLoop().finally(() => {
      this.#applying = undefined;
    });
  }

  async #applyLoop(): Promise<void> {
    while (this.#pending.length > 0) {
      // Everything appended since the last apply, up to a bound, as one batch.
      const batch: BatchOp[] = [];
      let ops = 0;
      let frames = 0;
      let bytes = 0;
      const max = this.#options.applyMaxOps;
      while (frames < this.#pending.length && (frames === 0 || ops + this.#pending[frames].ops.length <= max)) {
        const frame = this.#pending[frames++];
        bytes += frame.bytes;
        for (let i = 0; i < frame.ops.length; i++) batch.push(frame.ops[i]);
        ops += frame.ops.length;
      }
      const lastSeq = this.#pending[frames - 1].seq;
      try {
        await this.#apply(batch, false);
      } catch (error) {
        // The frames stay in the log; a reopen replays them. Until then nothing can be acknowledged as readable.
        this.#applyError = error;
        for (const waiter of [...this.#catchUp, ...this.#roomWaiters]) waiter.reject(error);
        this.#catchUp = [];
        this.#roomWaiters = [];
        return;
      }
      const done = performance.now();
      for (let i = 0; i < frames; i++) {
        const lag = done - this.#pending[i].at;
        this.stats.lagMsSum += lag;
        if (lag > this.stats.lagMsMax) this.stats.lagMsMax = lag;
      }
      this.#pending.splice(0, frames);
      this.#pendingBytes -= bytes;
      this.#appliedSeq = lastSeq;
      this.stats.applies++;
      this.stats.framesApplied += frames;
      if (this.#catchUp.length > 0) {
        const still: CatchUp[] = [];
        for (const waiter of this.#catchUp) {
          if (waiter.seq <= lastSeq) waiter.resolve();
          else still.push(waiter);
        }
        this.#catchUp = still;
      }
      if (this.#roomWaiters.length > 0 && this.#pendingBytes < this.#options.maxPendingBytes) {
        const waiters = this.#roomWaiters;
        this.#roomWaiters = [];
        for (const waiter of waiters) waiter.resolve();
      }
      await this.#dropAppliedFiles();
    }
  }

  /**
   * With `syncCall: 'threadpool'`, an fdatasync may still be running on a retired file when it is closed
   * here; an adopted log would count them per file first. The probe's 'sync' runs never rotate.
   */
  async #dropAppliedFiles(): Promise<void> {
    if (this.#retired.length === 0 || this.#retired[0].lastSeq > this.#appliedSeq) return;
    if (this.#options.durability === 'sync') await this.#syncLevel();
    while (this.#retired.length > 0 && this.#retired[0].lastSeq <= this.#appliedSeq) {
      const file = this.#retired.shift()!;
      closeSync(file.fd);
      unlinkSync(join(this.#dir, logName(file.number)));
    }
  }

  /** An empty synced LevelDB write flushes LevelDB's own log, and with it every earlier unsynced batch. */
  async #syncLevel(): Promise<void> {
    await this.#apply([], true);
  }
}

function logName(number: number): string {
  return `commit-${String(number).padStart(6, '0')}.log`;
}

/** Scans every log file in `dir`, replays the intact frames into `db`, and deletes the files. */
async function recover(dir: string, apply: ApplyBatch, applyMaxOps: number): Promise<{ recovery: RecoveryReport; lastSeq: number; lastNumber: number }> {
  const names = readdirSync(dir)
    .filter((name) => LOG_NAME.test(name))
    .sort();
  const report: RecoveryReport = { files: names.length, frames: 0, ops: 0, bytes: 0, tornBytes: 0, scanMs: 0, applyMs: 0 };
  let lastSeq = 0;
  let lastNumber = 0;
  let batch: BatchOp[] = [];
  for (const [index, name] of names.entries()) {
    lastNumber = Number(LOG_NAME.exec(name)![1]);
    const scanStart = performance.now();
    const data = readFileSync(join(dir, name));
    report.bytes += data.length;
    let at = 0;
    const frames: Buffer[] = [];
    while (at + FRAME_HEADER <= data.length) {
      const length = data.readUInt32BE(at);
      const end = at + CHECKED_FROM + length;
      if (length < FRAME_HEADER - CHECKED_FROM || end > data.length) break;
      if (crc32(data.subarray(at + CHECKED_FROM, end)) !== data.readUInt32BE(at + 4)) break;
      const frame = data.subarray(at, end);
      const seq = frame.readUIntBE(8, 6);
      if (seq !== lastSeq + 1 && lastSeq !== 0) break;
      lastSeq = seq;
      frames.push(frame);
      at = end;
    }
    const rest = data.length - at;
    // Only the newest file may end in a torn write; damage anywhere else lost acknowledged frames, and
    // an adopted log would refuse to open here (DATA_CORRUPT), as walCheck.ts does for LevelDB's logs.
    if (rest > 0 && index !== names.length - 1) throw new Error(`${name} is damaged at byte ${at} of ${data.length}`);
    report.tornBytes += rest;
    report.scanMs += performance.now() - scanStart;
    const applyStart = performance.now();
    for (const frame of frames) {
      const ops = decodeOps(frame);
      for (const op of ops) batch.push(op);
      report.frames++;
      report.ops += ops.length;
      if (batch.length >= applyMaxOps) {
        await apply(batch, false);
        batch = [];
      }
    }
    report.applyMs += performance.now() - applyStart;
  }
  const applyStart = performance.now();
  // Synced, so that deleting the logs cannot lose what they held even on power loss.
  await apply(batch, true);
  for (const name of names) unlinkSync(join(dir, name));
  report.applyMs += performance.now() - applyStart;
  return { recovery: report, lastSeq, lastNumber };
}
