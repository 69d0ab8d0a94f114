import crc32c from 'crc-32/crc32c.js';

/** What LevelDB's log and table formats share: little-endian integers and masked CRC32C checksums. */

const MASK_DELTA = 0xa282ead8;

/** LevelDB stores CRCs masked, so that a CRC of data that holds CRCs is not itself easy to mistake. */
export function unmaskCrc(masked: number): number {
  const rotated = (masked - MASK_DELTA) >>> 0;
  return ((rotated >>> 17) | (rotated << 15)) >>> 0;
}

/** The CRC32C of `bytes`, continuing from `seed` (the CRC of what came before them). */
export function crc32cOf(bytes: Uint8Array | number[], seed = 0): number {
  return crc32c.buf(bytes, seed) >>> 0;
}

export function readUint32(bytes: Uint8Array, at: number): number {
  return (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0;
}
