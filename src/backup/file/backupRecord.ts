/** One change a backup carries, in the order it is to be applied. */
export type BackupRecord =
  | { op: 'put'; sublevel: string; key: Buffer; value: Buffer }
  | { op: 'del'; sublevel: string; key: Buffer }
  /** Range delete within one sublevel; with neither bound, the whole sublevel. */
  | { op: 'clear'; sublevel: string; gte?: Buffer; lt?: Buffer };
