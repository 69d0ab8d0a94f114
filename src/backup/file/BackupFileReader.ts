import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { LlmStateError } from '../../errors.js';
import { backupCorrupt } from './backupCorrupt.js';
import { openBackupFile } from './openBackupFile.js';
import { decodeHeaderLine, MAGIC_LINE, MAX_HEADER_BYTES, sha256, type BackupHeader } from './backupHeader.js';
import { keyFor, type BackupKeyInput } from './backupKey.js';
import { decodeTrailerLine, MAX_TRAILER_BYTES, TRAILER_PREFIX, type BackupTrailer } from './backupTrailer.js';
import { FRAME_CHECKSUM_BYTES, FRAME_LENGTH_BYTES, frameChecksum, MAX_FRAME_BYTES, openChunk, type ChunkCipher } from './frameCodec.js';

const READ_BYTES = 64 * 1024;
const MAGIC = Buffer.from(MAGIC_LINE, 'utf8');
const NEWLINE = 0x0a;

/**
 * Reads one backup file front to back, checking as it goes: the magic line, the header, each frame's
 * length, checksum and (encrypted) authentication, then the trailer against everything read. It hands
 * out each chunk of the compressed stream once the chunk's frame checks out.
 */
export class BackupFileReader {
  readonly file: string;
  readonly #handle: FileHandle;
  readonly size: number;
  readonly #hash: Hash = createHash('sha256');
  #position = 0;
  #header: BackupHeader | undefined;
  #headerSha256: Buffer | undefined;
  #cipher: ChunkCipher | undefined;
  #trailer: BackupTrailer | undefined;
  #trailerStart = 0;

  private constructor(file: string, handle: FileHandle, size: number) {
    this.file = file;
    this.#handle = handle;
    this.size = size;
  }

  /** @throws {BACKUP_NOT_FOUND} when there is no such file, or it is not a regular file. */
  static async open(file: string): Promise<BackupFileReader> {
    const { handle, size } = await openBackupFile(file);
    return new BackupFileReader(file, handle, size);
  }

  async close(): Promise<void> {
    await this.#handle.close();
  }

  /** The bytes read so far. */
  get position(): number {
    return this.#position;
  }

  get header(): BackupHeader {
    if (this.#header === undefined) throw new Error('The header has not been read yet');
    return this.#header;
  }

  /** The trailer, once the body has been read to its end. */
  get trailer(): BackupTrailer {
    if (this.#trailer === undefined) throw new Error('The trailer has not been read yet');
    return this.#trailer;
  }

  /** The bytes at `position`, fewer only at the end of the file. */
  async #read(position: number, length: number): Promise<Buffer> {
    const bytes = Buffer.allocUnsafe(Math.max(0, Math.min(length, this.size - position)));
    let filled = 0;
    while (filled < bytes.length) {
      const { bytesRead } = await this.#handle.read(bytes, filled, bytes.length - filled, position + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return bytes.subarray(0, filled);
  }

  /** Reads `length` bytes at the current position into the hash, or fails as a truncation. */
  async #take(length: number, inside: string): Promise<Buffer> {
    const bytes = await this.#read(this.#position, length);
    if (bytes.length < length) throw backupCorrupt(this.file, 'truncated', `it is truncated at byte ${this.#position + bytes.length}, inside ${inside}`, this.#position + bytes.length);
    this.#hash.update(bytes);
    this.#position += length;
    return bytes;
  }

  /** Reads and checks the magic line and the header. */
  async readHeader(): Promise<BackupHeader> {
    const magic = await this.#read(0, MAGIC.length);
    if (!magic.equals(MAGIC.subarray(0, magic.length))) {
      throw backupCorrupt(this.file, 'header', `it does not start with the line ${JSON.stringify(MAGIC_LINE.trim())}, so it is not an llmstate backup or its first bytes are damaged`, 0);
    }
    await this.#take(MAGIC.length, 'the magic line');
    const start = this.#position;
    const pieces: Buffer[] = [];
    let length = 0;
    for (;;) {
      const piece = await this.#read(start + length, READ_BYTES);
      const newline = piece.indexOf(NEWLINE);
      if (newline !== -1) {
        pieces.push(piece.subarray(0, newline));
        length += newline;
        break;
      }
      pieces.push(piece);
      length += piece.length;
      if (length > MAX_HEADER_BYTES) throw backupCorrupt(this.file, 'header', `the header at byte ${start} does not end within ${MAX_HEADER_BYTES} bytes`, start);
      if (piece.length < READ_BYTES) throw backupCorrupt(this.file, 'truncated', `it is truncated at byte ${this.size}, inside the header that starts at byte ${start}`, this.size);
    }
    if (length > MAX_HEADER_BYTES) throw backupCorrupt(this.file, 'header', `the header at byte ${start} does not end within ${MAX_HEADER_BYTES} bytes`, start);
    const line = Buffer.concat(pieces, length);
    const header = decodeHeaderLine(this.file, line, start);
    await this.#take(length + 1, 'the header');
    this.#header = header;
    this.#headerSha256 = sha256(Buffer.concat([MAGIC, line, Buffer.from('\n')]));
    return header;
  }

  /**
   * Before any chunk is read: when the file ends in a readable trailer that records another SHA-256 for
   * the header, the header is damaged. Checking this first keeps a damaged key check or encryption
   * field from reading as a wrong key, and keeps a restore from starting on a damaged header. Only the
   * last 64 KiB are looked at: a trailer longer than that is checked at the end, like any other.
   */
  async checkHeaderAgainstTrailer(): Promise<void> {
    const tailStart = Math.max(this.#position, this.size - READ_BYTES);
    const tail = await this.#read(tailStart, this.size - tailStart);
    const start = tail.lastIndexOf(TRAILER_PREFIX);
    if (start === -1) return;
    const trailer = decodeTrailerLine(tail.subarray(start));
    if (trailer !== undefined && trailer.headerSha256 !== this.#headerSha256!.toString('hex')) {
      // Without reading the body this cannot tell a damaged header from damage to that one trailer field.
      throw backupCorrupt(this.file, 'header', 'its header does not match the SHA-256 its trailer records for it (the header, or that field of the trailer, is damaged)', 0);
    }
  }

  /**
   * Takes the key the file needs.
   * @throws {BACKUP_KEY_REQUIRED} when the file is encrypted and there is no key.
   * @throws {BACKUP_CORRUPT} when the key is not the one the file was encrypted with.
   */
  async useKey(input: BackupKeyInput | undefined): Promise<void> {
    const encryption = this.header.encryption;
    if (encryption === null) return;
    if (input === undefined) {
      throw new LlmStateError(
        'BACKUP_KEY_REQUIRED',
        `The backup file ${this.file} is encrypted, and no key was given. Pass the \`key\` option (the 32-byte key or the passphrase it was written with), or set LLMSTATE_BACKUP_KEY to the passphrase.`,
        { details: { file: this.file } },
      );
    }
    const key = await keyFor(input, encryption);
    if (key === undefined) {
      const kind = encryption.kdf === 'scrypt' ? 'a passphrase' : 'a 32-byte key';
      throw backupCorrupt(this.file, 'key', `the key does not match the one the backup was encrypted with (it was encrypted with ${kind})`);
    }
    this.#cipher = { key, id: this.header.id, headerSha256: this.#headerSha256! };
  }

  /** The chunks of the compressed stream, each checked, then the trailer checked against the whole file. */
  async *chunks(): AsyncGenerator<Buffer> {
    const encrypted = this.header.encryption !== null;
    const maxChunk = this.header.encryption?.chunkBytes ?? Infinity;
    for (let index = 0; ; index++) {
      const start = this.#position;
      if (start === this.size) throw backupCorrupt(this.file, 'truncated', `it is truncated at byte ${start}, after frame ${index - 1}: the end of the body and the trailer are missing`, start);
      const where = `frame ${index} at byte ${start}`;
      const length = (await this.#take(FRAME_LENGTH_BYTES, where)).readUInt32BE();
      if (length > MAX_FRAME_BYTES) throw backupCorrupt(this.file, 'frame', `${where} gives a length of ${length} bytes, more than any frame holds`, start);
      if (start + FRAME_LENGTH_BYTES + length + FRAME_CHECKSUM_BYTES > this.size) {
        throw backupCorrupt(this.file, 'truncated', `it is truncated at byte ${this.size}: ${where} runs past the end of the file (or its length is damaged)`, this.size);
      }
      const payload = await this.#take(length, where);
      const checksum = (await this.#take(FRAME_CHECKSUM_BYTES, where)).readUInt32BE();
      if (checksum !== frameChecksum(index, payload)) throw backupCorrupt(this.file, 'frame', `${where} does not match its checksum (it is damaged or out of place)`, start);
      let chunk = payload;
      if (this.#cipher !== undefined) {
        const opened = openChunk(this.#cipher, index, payload);
        if (opened === undefined) throw backupCorrupt(this.file, 'frame', `${where} does not authenticate (it is damaged, out of place, or from another backup)`, start);
        chunk = opened;
      } else if (encrypted) throw new Error('useKey() must run before chunks()');
      if (chunk.length > maxChunk) throw backupCorrupt(this.file, 'frame', `${where} holds ${chunk.length} bytes, more than the ${maxChunk} of a chunk`, start);
      if (chunk.length === 0) {
        this.#trailer = await this.#readTrailer(index + 1);
        return;
      }
      yield chunk;
    }
  }

  async #readTrailer(frames: number): Promise<BackupTrailer> {
    const start = this.#position;
    this.#trailerStart = start;
    const sha256Hex = this.#hash.digest('hex');
    const rest = await this.#read(start, MAX_TRAILER_BYTES + 1);
    const newline = rest.indexOf(NEWLINE);
    if (newline === -1) {
      if (rest.length > MAX_TRAILER_BYTES) throw backupCorrupt(this.file, 'trailer', `the trailer at byte ${start} does not end within ${MAX_TRAILER_BYTES} bytes`, start);
      throw backupCorrupt(this.file, 'truncated', `it is truncated at byte ${this.size}, inside the trailer that starts at byte ${start}`, this.size);
    }
    const end = start + newline + 1;
    if (end < this.size) throw backupCorrupt(this.file, 'appended', `${this.size - end} bytes are appended after the trailer, at byte ${end}`, end);
    const trailer = decodeTrailerLine(rest.subarray(0, newline + 1));
    if (trailer === undefined) throw backupCorrupt(this.file, 'trailer', `the trailer at byte ${start} is damaged`, start);
    if (trailer.headerSha256 !== this.#headerSha256!.toString('hex')) {
      // The SHA-256 of the whole covers the header too: when it still matches, the header is intact.
      if (trailer.sha256 === sha256Hex) throw backupCorrupt(this.file, 'trailer', `the trailer at byte ${start} is damaged: its header SHA-256 does not match the header`, start);
      throw backupCorrupt(this.file, 'header', 'its header does not match the SHA-256 its trailer records for it', 0);
    }
    if (trailer.sha256 !== sha256Hex) {
      // Every frame passed its checksum and the header its hash, so the trailer is the likelier place.
      throw backupCorrupt(this.file, 'trailer', `the SHA-256 in the trailer at byte ${start} does not match the bytes before it`, start);
    }
    if (trailer.frames !== frames) throw backupCorrupt(this.file, 'trailer', `the trailer at byte ${start} counts ${trailer.frames} frames, and the body holds ${frames}`, start);
    return trailer;
  }

  /** Fails when the records read do not match the trailer's counts. */
  checkCounts(records: number, counts: Map<string, number>): void {
    const trailer = this.trailer;
    const start = this.#trailerStart;
    if (trailer.records !== records) {
      throw backupCorrupt(this.file, 'trailer', `the trailer at byte ${start} counts ${trailer.records} records, and the body holds ${records}`, start);
    }
    const names = new Set([...Object.keys(trailer.counts), ...counts.keys()]);
    for (const name of names) {
      const recorded = Object.hasOwn(trailer.counts, name) ? trailer.counts[name] : undefined;
      if (recorded !== counts.get(name)) {
        throw backupCorrupt(
          this.file,
          'trailer',
          `the trailer at byte ${start} counts ${recorded ?? 0} records in sublevel ${JSON.stringify(name)}, and the body holds ${counts.get(name) ?? 0}`,
          start,
        );
      }
    }
  }
}
