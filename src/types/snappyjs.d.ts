declare module 'snappyjs' {
  /** Decompresses a Snappy block; throws when it is not valid Snappy or inflates past `maxLength`. */
  export function uncompress<T extends Uint8Array | ArrayBuffer>(compressed: T, maxLength?: number): T;
  export function compress<T extends Uint8Array | ArrayBuffer>(uncompressed: T): T;
}
