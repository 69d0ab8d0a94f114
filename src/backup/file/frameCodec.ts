import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

/**
 * The body is the compressed record stream cut into chunks, each in a frame:
 *
 * | bytes | field |
 * |---|---|
 * | 4 | payload length, u32 big-endian |
 * | length | payload: the chunk; encrypted, its 12-byte IV, the ciphertext and the 16-byte GCM tag |
 * | 4 | CRC-32 of the frame's index (u32 big-endian) followed by the payload, u32 big-endian |
 *
 * The index in the checksum makes a frame out of place fail its checksum even in a plain file. A frame
 * whose chunk is empty ends the body: data chunks are never empty.
 */
export const DEFAULT_CHUNK_BYTES = 64 * 1024;
/** The largest chunk a writer may be asked to cut. */
export const MAX_CHUNK_BYTES = 1024 * 1024;
export const IV_BYTES = 12;
export const TAG_BYTES = 16;
/** A length field above this is damage: a reader never allocates more for one frame. */
export const MAX_FRAME_BYTES = MAX_CHUNK_BYTES + IV_BYTES + TAG_BYTES;
export const FRAME_LENGTH_BYTES = 4;
export const FRAME_CHECKSUM_BYTES = 4;

export function frameChecksum(index: number, payload: Buffer): number {
  const position = Buffer.allocUnsafe(4);
  position.writeUInt32BE(index);
  // Node 20's crc32 answers 0, not the running value, for some empty buffers (those of Buffer.allocUnsafe(0)).
  return payload.length === 0 ? crc32(position) : crc32(payload, crc32(position));
}

/**
 * What authenticates each encrypted chunk besides itself: the backup's id, the SHA-256 of the magic and
 * header lines, the chunk's index and whether it is the final one. A chunk moved, dropped, taken from
 * another backup or read under a changed header fails to decrypt; a body cut short lacks the final one.
 */
function additionalData(id: string, headerSha256: Buffer, index: number, final: boolean): Buffer {
  const idBytes = Buffer.from(id, 'utf8');
  const data = Buffer.allocUnsafe(4 + idBytes.length + headerSha256.length + 8 + 1);
  let offset = data.writeUInt32BE(idBytes.length);
  offset += idBytes.copy(data, offset);
  offset += headerSha256.copy(data, offset);
  offset = data.writeBigUInt64BE(BigInt(index), offset);
  data[offset] = final ? 1 : 0;
  return data;
}

/** The key and the header facts that every chunk of one file is sealed under. */
export interface ChunkCipher {
  key: Buffer;
  id: string;
  headerSha256: Buffer;
}

/** Numbers and wraps chunks into frames, encrypting them when given a cipher. */
export class FrameWriter {
  #index = 0;
  readonly #cipher: ChunkCipher | undefined;

  constructor(cipher: ChunkCipher | undefined) {
    this.#cipher = cipher;
  }

  get frames(): number {
    return this.#index;
  }

  /** The frame of `chunk`; an empty chunk is the end of the body. */
  frame(chunk: Buffer): Buffer {
    const index = this.#index++;
    const cipher = this.#cipher;
    const payloadBytes = cipher === undefined ? chunk.length : IV_BYTES + chunk.length + TAG_BYTES;
    const frame = Buffer.allocUnsafe(FRAME_LENGTH_BYTES + payloadBytes + FRAME_CHECKSUM_BYTES);
    frame.writeUInt32BE(payloadBytes);
    const payload = frame.subarray(FRAME_LENGTH_BYTES, FRAME_LENGTH_BYTES + payloadBytes);
    if (cipher === undefined) chunk.copy(payload);
    else {
      const iv = randomBytes(IV_BYTES);
      const gcm = createCipheriv('aes-256-gcm', cipher.key, iv);
      gcm.setAAD(additionalData(cipher.id, cipher.headerSha256, index, chunk.length === 0));
      iv.copy(payload);
      let offset = IV_BYTES;
      offset += gcm.update(chunk).copy(payload, offset);
      offset += gcm.final().copy(payload, offset);
      gcm.getAuthTag().copy(payload, offset);
    }
    frame.writeUInt32BE(frameChecksum(index, payload), FRAME_LENGTH_BYTES + payloadBytes);
    return frame;
  }
}

/**
 * The chunk inside an encrypted frame's payload, or undefined when it does not authenticate. A payload
 * of only an IV and a tag holds the empty final chunk.
 */
export function openChunk(cipher: ChunkCipher, index: number, payload: Buffer): Buffer | undefined {
  if (payload.length < IV_BYTES + TAG_BYTES) return undefined;
  const final = payload.length === IV_BYTES + TAG_BYTES;
  const gcm = createDecipheriv('aes-256-gcm', cipher.key, payload.subarray(0, IV_BYTES));
  gcm.setAAD(additionalData(cipher.id, cipher.headerSha256, index, final));
  gcm.setAuthTag(payload.subarray(payload.length - TAG_BYTES));
  const chunk = gcm.update(payload.subarray(IV_BYTES, payload.length - TAG_BYTES));
  try {
    gcm.final();
  } catch {
    return undefined;
  }
  return chunk;
}
