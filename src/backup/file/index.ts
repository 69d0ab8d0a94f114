export type { BackupRecord } from './backupRecord.js';
export type { BackupHeader, BackupHeaderInput, Compression, EncryptionHeader } from './backupHeader.js';
export type { BackupTrailer } from './backupTrailer.js';
export { backupKeyFrom, keyFor, type BackupKeyInput } from './backupKey.js';
export { writeBackupFile, type WriteBackupOptions, type WrittenBackup } from './writeBackupFile.js';
export { readBackupHeader, readBackupRecords, verifyBackupFile, type ReadBackupOptions } from './readBackupFile.js';
export { readBackupTrailer } from './readBackupTrailer.js';
