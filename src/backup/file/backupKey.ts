import { createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { describeOption } from '../../checkOptions.js';
import type { EncryptionHeader } from './backupHeader.js';

/** A 32-byte Buffer is used as the key; a string is a passphrase (scrypt, salt in the header). */
export type BackupKeyInput = Buffer | string;

export const KEY_ENV = 'LLMSTATE_BACKUP_KEY';
const KEY_BYTES = 32;
const SALT_BYTES = 16;
/** scrypt's cost: 2^15 rounds of 8 × 128 B blocks is 32 MiB and about 0.1 s, once per backup. */
export const SCRYPT_PARAMS = { N: 2 ** 15, r: 8, p: 1 } as const;
/** The label whose HMAC under the key is the header's key check. */
const KEY_CHECK_LABEL = 'llmstate-backup key check v1';

/**
 * The key option, or else process.env.LLMSTATE_BACKUP_KEY (a passphrase), or undefined. Validates: a
 * Buffer must be 32 bytes (TypeError otherwise); an empty string is a TypeError.
 *
 * @example
 * const key = backupKeyFrom(options.key); // the option, or the passphrase in LLMSTATE_BACKUP_KEY
 */
export function backupKeyFrom(option: BackupKeyInput | undefined, env: NodeJS.ProcessEnv = process.env): BackupKeyInput | undefined {
  if (option === undefined) {
    const passphrase = env[KEY_ENV];
    if (passphrase === undefined) return undefined;
    if (passphrase === '') throw new TypeError(`Expected ${KEY_ENV} to be a non-empty passphrase, got an empty string; unset it, or set it to the passphrase`);
    return passphrase;
  }
  if (Buffer.isBuffer(option)) {
    if (option.length !== KEY_BYTES) throw new TypeError(`Expected \`key\` to be a 32-byte Buffer or a passphrase, got a Buffer of ${option.length} bytes`);
    return option;
  }
  if (typeof option !== 'string' || option === '') {
    throw new TypeError(`Expected \`key\` to be a 32-byte Buffer or a non-empty passphrase, got ${describeOption(option)}`);
  }
  return option;
}

function scryptKey(passphrase: string, salt: Buffer, params: { N: number; r: number; p: number }): Promise<Buffer> {
  // 128 · N · r bytes, with room: node refuses anything over `maxmem`, which is 32 MiB by default.
  const maxmem = 256 * params.N * params.r + 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(passphrase.normalize('NFC'), salt, KEY_BYTES, { ...params, maxmem }, (err, key) => (err === null ? resolve(key) : reject(err)));
  });
}

function keyCheckOf(key: Buffer): string {
  return createHmac('sha256', key).update(KEY_CHECK_LABEL).digest('hex');
}

/** A fresh encryption header and the key it describes, for a file about to be written. */
export async function newEncryption(input: BackupKeyInput, chunkBytes: number): Promise<{ key: Buffer; header: EncryptionHeader }> {
  if (Buffer.isBuffer(input)) {
    return { key: input, header: { cipher: 'aes-256-gcm', kdf: 'none', salt: null, scrypt: null, chunkBytes, keyCheck: keyCheckOf(input) } };
  }
  const salt = randomBytes(SALT_BYTES);
  const key = await scryptKey(input, salt, SCRYPT_PARAMS);
  return {
    key,
    header: { cipher: 'aes-256-gcm', kdf: 'scrypt', salt: salt.toString('base64'), scrypt: { ...SCRYPT_PARAMS }, chunkBytes, keyCheck: keyCheckOf(key) },
  };
}

/**
 * The key `input` stands for under `encryption`, or undefined when it is not the key the file was
 * encrypted with. A Buffer is the key itself; a passphrase goes through the header's scrypt.
 */
export async function keyFor(input: BackupKeyInput, encryption: EncryptionHeader): Promise<Buffer | undefined> {
  let key: Buffer;
  if (Buffer.isBuffer(input)) key = input;
  else if (encryption.kdf === 'scrypt' && encryption.salt !== null && encryption.scrypt !== null) {
    key = await scryptKey(input, Buffer.from(encryption.salt, 'base64'), encryption.scrypt);
  } else return undefined;
  const check = Buffer.from(keyCheckOf(key), 'hex');
  return timingSafeEqual(check, Buffer.from(encryption.keyCheck, 'hex')) ? key : undefined;
}
